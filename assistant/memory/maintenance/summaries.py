"""The text of a summary: extractive (deterministic) or the model's, checked before it is used.

A model summary replaces the messages it covers in recall, so it must be grounded in them:
`usable_summary` rejects one that is too long, repetitive, or mentions words or numbers the
conversation does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.memory.engine import describe_time, speaker_label
from assistant.memory.types import Memory, aware

if TYPE_CHECKING:
    import numpy as np

    from assistant.llm.runner import ModelRunner

SUMMARY_MAX_CHARS = 700
LINE_MAX_CHARS = 160
MODEL_SUMMARY_TOKENS = 140


def _line(memory: Memory, *, with_date: bool) -> str:
    text = " ".join(memory.text.split())
    if len(text) > LINE_MAX_CHARS:
        text = text[: LINE_MAX_CHARS - 1].rstrip() + "…"
    speaker = speaker_label("", memory.speaker) or "someone"
    # A short answer means little without the question it answered.
    asker, _, asked = (memory.context or "").partition(": ")
    asked = " ".join(asked.split())
    if asker == "assistant" and asked.endswith("?") and len(text) < 60 and speaker != "assistant":
        text = f'(asked "{asked[:90]}") {text}'
    date = f"[{aware(memory.created_at).date().isoformat()}] " if with_date else ""
    return f"{date}{speaker}: {text}"


def summary_source_lines(members: Sequence[Memory]) -> list[str]:
    """The group as the model is shown it; a model summary must be grounded in these lines."""
    return [_line(member, with_date=True) for member in members]


def summary_header(members: Sequence[Memory]) -> str:
    first, last = aware(members[0].created_at), aware(members[-1].created_at)
    span = describe_time(first) if first.date() == last.date() else f"{describe_time(first)} to {describe_time(last)}"
    return f"Conversation of {span}, {len(members)} messages."


_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+|\d+")


def _is_informative(text: str) -> float:
    words = _WORD.findall(text)
    names = sum(1 for word in words[1:] if word[0].isupper())
    digits = sum(1 for word in words if word.isdigit())
    return min(1.0, 0.15 * names + 0.1 * digits + 0.02 * len(words))


def extractive_summary(members: Sequence[Memory], vectors: np.ndarray, *, max_chars: int = SUMMARY_MAX_CHARS) -> str:
    """Deterministic: the group's most central and informative messages, with speaker and date."""
    return pick_summary_lines(members, vectors, max_chars=max_chars)[0]


def pick_summary_lines(members: Sequence[Memory], vectors: np.ndarray, *, max_chars: int) -> tuple[str, list[int]]:
    import numpy as np

    centroid = vectors.mean(axis=0)
    centroid = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
    centrality = vectors @ centroid
    multi_day = aware(members[0].created_at).date() != aware(members[-1].created_at).date()
    scored = []
    for index, memory in enumerate(members):
        from_user = (memory.speaker or "") != "assistant"
        score = float(centrality[index]) + (0.6 if from_user else 0.0) + _is_informative(memory.text)
        scored.append((score, index))
    header = summary_header(members)
    budget = max_chars - len(header) - 1
    chosen: list[int] = []
    seen_texts: set[str] = set()
    for _score, index in sorted(scored, reverse=True):
        line = _line(members[index], with_date=multi_day)
        normalized = " ".join(members[index].text.lower().split())
        if normalized in seen_texts:
            continue
        if len(line) + 1 > budget:
            continue
        chosen.append(index)
        seen_texts.add(normalized)
        budget -= len(line) + 1
    chosen.sort()
    lines = [_line(members[index], with_date=multi_day) for index in chosen]
    return "\n".join([header, *lines]), chosen


_STOP = set(
    "the a an and or but of to in on at for with from by is are was were be been being it its this that these those "
    "they them their there then than user users assistant said says about into over also very just some what when "
    "which who whom will would could should have has had do does did not no yes you your yours we our ours he she "
    "his her him i me my mine so as if up out".split()
)


def _content_words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text) if word.lower() not in _STOP and len(word) > 2]


def usable_summary(summary: str, source_text: str, *, max_chars: int = SUMMARY_MAX_CHARS) -> str | None:
    """Why a model summary cannot be used, or None when it can."""
    text = summary.strip()
    if len(text) < 20:
        return "empty or too short"
    if len(text) > max_chars:
        return "too long"
    words = _WORD.findall(text.lower())
    if len(words) >= 12 and len(set(words)) / len(words) < 0.5:
        return "repetitive"
    grams = [tuple(words[i : i + 4]) for i in range(max(0, len(words) - 3))]
    if grams and max(grams.count(gram) for gram in set(grams)) >= 3:
        return "repetitive"
    content = _content_words(text)
    if not content:
        return "says nothing"
    known = {word[:5] for word in _content_words(source_text)}
    grounded = sum(1 for word in content if word[:5] in known) / len(content)
    if grounded < 0.8:
        return f"not grounded in the conversation ({grounded:.0%} of its words are)"
    numbers = {word for word in words if word.isdigit()}
    if numbers - set(_WORD.findall(source_text)):
        return "mentions numbers the conversation does not"
    return None


def model_summary(runner: ModelRunner, members: Sequence[Memory]) -> tuple[str | None, str]:
    """The model's summary and "" when usable, else None and the reason. Raises GenerationCancelled."""
    from assistant.errors import ModelError
    from assistant.llm.prompts import COMPRESSION_SYSTEM_PROMPT, compression_user_prompt
    from assistant.llm.runner import ChatMessage

    lines = summary_source_lines(members)
    messages = [
        ChatMessage("system", COMPRESSION_SYSTEM_PROMPT),
        ChatMessage("user", compression_user_prompt(lines)),
    ]
    try:
        text = runner.chat(messages, max_tokens=MODEL_SUMMARY_TOKENS, temperature=0.2, background=True)
    except ModelError as error:
        return None, f"the model failed: {error}"
    text = " ".join(text.split())
    header = summary_header(members)
    problem = usable_summary(text, "\n".join(lines), max_chars=SUMMARY_MAX_CHARS - len(header) - 1)
    if problem:
        return None, problem
    return f"{header}\n{text}", ""
