"""The best evidence that fits: a recalled memory too long for its share of the prompt is cut
to its sentences about the question, instead of taking the room of several precise ones."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from assistant.memory.language import content_stems
from assistant.memory.types import RecallHit

# The most of a section's room one recalled memory may take.
ITEM_SHARE = 0.4
JOIN = " … "


def fitted_to_room(hits: Sequence[RecallHit], query: str, room: int, count: Callable[[str], int]) -> list[RecallHit]:
    """`hits` in their order; one whose text takes more than ITEM_SHARE of `room` tokens is cut
    to the sentences sharing most words with the query (kept in their order), and dropped if no
    sentence fits. A long summary must not crowd out three precise messages, and what it says
    about the question still comes through."""
    cap = max(1, int(room * ITEM_SHARE))
    asked = content_stems(query)
    out = []
    for hit in hits:
        text = hit.memory.text
        if count(text) <= cap:
            out.append(hit)
            continue
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
        by_overlap = sorted(range(len(sentences)), key=lambda i: (-len(asked & content_stems(sentences[i])), i))
        kept: list[int] = []
        for index in by_overlap:
            if count(JOIN.join(sentences[i] for i in sorted([*kept, index]))) <= cap:
                kept.append(index)
        if kept:
            shortened = JOIN.join(sentences[i] for i in sorted(kept))
            out.append(replace(hit, memory=replace(hit.memory, text=shortened)))
    return out
