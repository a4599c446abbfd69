"""Learning from one exchange, after the reply: the user's own words become memories.

Two passes. What the user stated outright (the deterministic rules, `learn_stated`) is saved
first, so it is in memory at once and stays saved when the model's extraction is cancelled.
The model's extraction (`learn_with_model`) runs after it when it is worth it, possibly after
later turns' rules passes (the scheduler never makes a turn's rules wait for a model pass), and
may raise GenerationCancelled when the user's chat needs the model; the caller retries, and
what was already saved from this message is not counted again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace

from assistant.application.turn import LearnReport, Turn
from assistant.config import Settings
from assistant.learning.consolidate import Applied, Consolidator
from assistant.learning.explicit import extract_explicit
from assistant.learning.model_extraction import extract_with_model, model_additions
from assistant.learning.pasted import authored_text
from assistant.learning.safety_net import net_notes
from assistant.llm.runner import ModelRunner
from assistant.memory.engine import MemoryEngine
from assistant.memory.types import Origin

log = logging.getLogger(__name__)


def worth_asking_the_model(user_text: str) -> bool:
    """Questions and one-word replies rarely state anything about the user: skip the model."""
    words = user_text.split()
    return len(words) >= 4 and not user_text.rstrip().endswith("?")


def learn_from_turn(
    turn: Turn,
    *,
    engine: MemoryEngine,
    runner: Callable[[], ModelRunner],
    settings: Settings,
    use_model: bool | None = None,
    on_stated: Callable[[LearnReport], None] | None = None,
    from_history: bool = False,
) -> LearnReport:
    """Extract memories from the user's side of `turn` and consolidate them: both passes, in order.

    `from_history` (an imported message): what it states is valid from when it was said
    (`turn.at`) and does not replace a value the user gave later (see Consolidator).

    With a model pass, `on_stated` receives the rules' part of the report (possibly empty) as
    soon as it is saved, and the returned report holds the model's part.
    """
    report, wants_model = learn_stated(
        turn, engine=engine, settings=settings, use_model=use_model, from_history=from_history
    )
    if not wants_model:
        return report
    if on_stated is not None:
        on_stated(report)  # even when empty: the caller learns the rules' part is done
        report = LearnReport()
    return learn_with_model(turn, engine=engine, runner=runner())


def _own_text(turn: Turn) -> str:
    """The user's own words in `turn` when it is one to learn from, else ""."""
    if turn.incognito or turn.is_command or not turn.used_memory or turn.user_message_id is None:
        return ""
    own_text = authored_text(turn.user_text)  # pasted files and quotes are data, not facts about the user
    return own_text if own_text.strip() else ""


def learn_stated(
    turn: Turn,
    *,
    engine: MemoryEngine,
    settings: Settings,
    use_model: bool | None = None,
    from_history: bool = False,
) -> tuple[LearnReport, bool]:
    """The rules' pass: save what the user stated outright. Returns its report and whether a model pass is due."""
    report = LearnReport()
    own_text = _own_text(turn)
    if not own_text:
        return report, False
    assert turn.user_message_id is not None  # _own_text checked it
    consolidator = Consolidator(engine, said_at=turn.at if from_history else None)
    explicit = extract_explicit(own_text, now=turn.at, source_id=turn.user_message_id)  # deduplicated
    # What no rule understood about the user's health (or of a family the schema knows) is kept
    # in their words, never dropped; the notice and Undo are the same as for any saved fact.
    notes = net_notes(own_text, found=explicit, source_id=turn.user_message_id)
    stated = [*explicit, *notes]
    if from_history:
        stated = [replace(candidate, origin=Origin.IMPORTED) for candidate in stated]
    for applied in consolidator.apply_all(stated):
        _record(report, applied)
    engine.flush()
    if use_model is None:
        use_model = settings.model_extraction and worth_asking_the_model(own_text)
    return report, use_model


def learn_with_model(
    turn: Turn,
    *,
    engine: MemoryEngine,
    runner: ModelRunner,
    consolidating: AbstractContextManager[object] | None = None,
) -> LearnReport:
    """The model's pass, after the rules' (`learn_stated`): what the model finds beyond what the rules saved.

    It may run after later turns' rules passes (they do not wait for the model), so what it
    finds is valid from when the user said it (`turn.at`) and never replaces a value the user
    gave since. `consolidating` is held while its findings are written (not while the model
    generates), so another pass's writes never interleave with them.
    """
    report = LearnReport()
    own_text = _own_text(turn)
    if not own_text:
        return report
    assert turn.user_message_id is not None
    explicit = extract_explicit(own_text, now=turn.at, source_id=turn.user_message_id)  # what the rules found
    result = extract_with_model(runner, own_text, turn.reply, source_id=turn.user_message_id, now=turn.at)
    if result.error:
        # The raw message stays in the episodic log; nothing is lost, only not distilled.
        log.warning("model extraction failed for message %s: %s", turn.user_message_id, result.error)
        report.error = result.error
    with consolidating if consolidating is not None else nullcontext():
        consolidator = Consolidator(engine, said_at=turn.at)
        for applied in consolidator.apply_all(model_additions(explicit, result.candidates)):
            _record(report, applied)
        engine.flush()
    return report


def _record(report: LearnReport, applied: Applied) -> None:
    if applied.action == "add" and applied.memory is not None:
        report.saved.append(applied.memory)
        if applied.replaced:
            report.superseded.extend(applied.replaced)
    elif applied.action == "reinforce" and applied.memory is not None:
        report.reinforced.append(applied.memory)
    if applied.notice:
        report.notices.append(applied.notice)
