"""Choosing recall's k results from its ranked candidates: neighbouring turns joined into one.

An answer often sits in the turn next to the one that matched ("Did you take Toby hiking?" /
"Yes, up Mount Wilson!"). A candidate adjacent to a chosen result (found by the quote of the
message it answered, message_log.py) that scores at least JOIN_SHARE of it is joined to it as
one result, both messages labelled by speaker, instead of taking a place of its own further
down: the neighbour comes along only where it likely matters, so the results stay within the
prompt's budget. Measured on LoCoMo dev (benchmarks/recall_quality.py): R@5 0.668 -> 0.679,
R@10 0.714 -> 0.725, multi-hop R@10 0.425 -> 0.443, top-5 characters 797 -> 1,003; the
synthetic set unchanged. 0.5 joined a little more text for no more recall.

Measured and not kept: a soft diversity by session (each further result from a session
already chosen counting 20% less) lost 10 points of R@5 and 7 of R@10, multi-hop included:
the evidence clusters in the best session; more candidates (80, 150 instead of 40) moved
nothing (the evidence they add is not ranked up); a full-text search of the question's content
words alone, without question words and the people named, beside the question's own moved R@5
by -0.004; maximal marginal relevance (each next result's score, as a share of the best, less
0.03-0.15 times its closest cosine to a result already chosen) moved R@5 and R@10 by at most
0.004 and multi-hop R@10 by 0 to +0.009, the synthetic set not at all.

The assistant's own replies are never joined: they are shown only beside the message they
answered (application/memory_lines.py) and labelled as the model's words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from assistant.memory.message_log import quote
from assistant.memory.types import Kind, Memory, RecallHit

JOIN_SHARE = 0.7  # a neighbour is joined when it scores at least this share of the result
JOIN_MAX_CHARS = 400  # a neighbour longer than this is not joined (it would crowd the prompt)
ASSISTANT = "assistant"


def quoted(memory: Memory) -> str:
    """How a message is quoted as the context of the next one (message_log.py writes it so)."""
    return quote(memory.speaker, memory.text)


def _joinable(memory: Memory) -> bool:
    return memory.kind == Kind.EPISODIC and bool(memory.conversation_id) and memory.speaker != ASSISTANT


def neighbours(hits: Sequence[RecallHit]) -> tuple[dict[str, int], dict[str, int]]:
    """For each candidate, the position of the one before it and after it among `hits`."""
    by_quote: dict[tuple[str, str], int] = {}
    for index, hit in enumerate(hits):
        if _joinable(hit.memory):
            by_quote.setdefault((str(hit.memory.conversation_id), quoted(hit.memory)), index)
    before: dict[str, int] = {}
    after: dict[str, int] = {}
    for index, hit in enumerate(hits):
        memory = hit.memory
        if not _joinable(memory) or not memory.context:
            continue
        previous = by_quote.get((str(memory.conversation_id), memory.context))
        if previous is not None and previous != index:
            before[memory.id] = previous
            after.setdefault(hits[previous].memory.id, index)
    return before, after


def joined(first: Memory, second: Memory) -> Memory:
    """Two neighbouring messages as one result: each line labelled with who said it."""
    text = f"{first.speaker}: {first.text}\n{second.speaker}: {second.text}"
    return replace(
        first,
        text=text,
        speaker=None,
        sources=[*first.sources, *(s for s in second.sources if s not in first.sources)],
    )


def select(hits: Sequence[RecallHit], k: int) -> list[RecallHit]:
    """The k results from `hits` (best first, near-duplicates already collapsed), each with the
    neighbour that scores nearly as well joined to it."""
    remaining = list(range(len(hits)))
    taken: set[int] = set()
    before, after = neighbours(hits)
    out: list[RecallHit] = []
    while remaining and len(out) < k:
        best = remaining.pop(0)
        taken.add(best)
        out.append(_with_neighbour(hits[best], hits, before, after, taken, remaining))
    return out


def _with_neighbour(
    hit: RecallHit,
    hits: Sequence[RecallHit],
    before: dict[str, int],
    after: dict[str, int],
    taken: set[int],
    remaining: list[int],
) -> RecallHit:
    if not _joinable(hit.memory):
        return hit
    options = []
    for side, position in (("before", before.get(hit.memory.id)), ("after", after.get(hit.memory.id))):
        if position is None or position in taken:
            continue
        other = hits[position]
        if len(other.memory.text) > JOIN_MAX_CHARS or other.score < JOIN_SHARE * hit.score:
            continue
        options.append((other.score, side, position))
    if not options:
        return hit
    _, side, position = max(options)
    taken.add(position)
    if position in remaining:
        remaining.remove(position)
    neighbour = hits[position].memory
    if side == "after":
        return replace(hit, memory=joined(hit.memory, neighbour))
    # The result keeps its own id (what the caller marks used) and starts where its neighbour does.
    memory = replace(joined(neighbour, hit.memory), id=hit.memory.id, context=neighbour.context)
    return replace(hit, memory=memory)
