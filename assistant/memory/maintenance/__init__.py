"""Background upkeep of one memory space: compression, decay and index maintenance.

Plain functions of (engine, runner or None, now) that return reports and accept `dry_run`;
`run_pass` runs all three. Every write step is idempotent and ordered so that a kill
anywhere loses nothing and a rerun finishes the job.

  grouping     old messages -> episodes -> topics (what one summary covers)
  summaries    a group's summary text: extractive, or the model's when it is grounded
  compression  summaries written, originals archived (never deleted)
  strength     decay of unused memories and archiving of the weakest
  indexes      compaction, text and vector indexes, old versions removed
  writes       the shared write steps and `observe_writes`, the hook crash tests use
  passes       the three in order, with one report
"""

from assistant.memory.maintenance.compression import CompressReport, compress, summary_id_for
from assistant.memory.maintenance.grouping import MAX_GROUP, TOPIC_SIMILARITY, group_episodes
from assistant.memory.maintenance.indexes import KEEP_VERSIONS_FOR, IndexReport, maintain_indexes
from assistant.memory.maintenance.passes import MaintenanceReport, run_pass
from assistant.memory.maintenance.strength import DecayReport, decay, decay_exempt, last_use, strength_of
from assistant.memory.maintenance.summaries import (
    extractive_summary,
    model_summary,
    summary_header,
    summary_source_lines,
    usable_summary,
)
from assistant.memory.maintenance.writes import Progress, WriteObserver, observe_writes

__all__ = [
    "KEEP_VERSIONS_FOR",
    "MAX_GROUP",
    "TOPIC_SIMILARITY",
    "CompressReport",
    "DecayReport",
    "IndexReport",
    "MaintenanceReport",
    "Progress",
    "WriteObserver",
    "compress",
    "decay",
    "decay_exempt",
    "extractive_summary",
    "group_episodes",
    "last_use",
    "maintain_indexes",
    "model_summary",
    "observe_writes",
    "run_pass",
    "strength_of",
    "summary_header",
    "summary_id_for",
    "summary_source_lines",
    "usable_summary",
]
