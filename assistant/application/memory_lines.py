"""How one memory is written into the prompt: quoted as data, dated the way people say it.

Every line that quotes stored text goes through `quote`, so nothing a user (or an import)
said can close the memory block, open a fake one, or pose as a role of the chat template.
"""

from __future__ import annotations

from datetime import datetime

from assistant.memory.types import Memory, aware

# Short on purpose: every token of the block is evaluated again each turn it changes.
MEMORY_OPEN = "[memory]"
MEMORY_CLOSE = "[/memory]"
# A fact learned within this many days is quoted without a date: the model's tokenizer spends a
# token per digit, and an ISO date doubled the cost of a typical one-fact block.
UNDATED_FACT_DAYS = 30


def quote(text: str) -> str:
    """Render untrusted text as one quoted line: no way to close the block or fake a role."""
    flat = " ".join(text.split())
    for marker in (MEMORY_OPEN, MEMORY_CLOSE, "<|im_start|>", "<|im_end|>"):
        flat = flat.replace(marker, " ")
    return '"' + flat.replace('"', "'") + '"'


def plain_markers(text: str) -> str:
    """Pasted text after the memory block must not close it or open a fake one: its markers become plain."""
    for marker in (MEMORY_OPEN, MEMORY_CLOSE):
        text = text.replace(marker, f"({marker[1:-1]})")
    return text


def when(moment: datetime | None, now: datetime | None) -> str:
    """A short, human date: "today", "3 days ago", "in March 2025" (ISO when there is no now)."""
    if moment is None:
        return "unknown date"
    if now is None:
        return moment.date().isoformat()
    days = _days_between(moment, now)
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    if 1 < days < 14:
        return f"{days} days ago"
    return f"in {moment.strftime('%B %Y')}"


def _days_between(moment: datetime, now: datetime) -> int:
    """Calendar days from `moment` to `now`, in now's time zone (naive times are UTC)."""
    now = aware(now)
    return (now.date() - aware(moment).astimezone(now.tzinfo).date()).days


def memory_line(memory: Memory, now: datetime | None = None) -> str:
    # Told or learned from the user's own words unless marked otherwise (summary, import).
    notes = [] if memory.origin in ("explicit", "extracted") else [str(memory.origin)]
    recent = (
        now is not None and memory.created_at is not None and _days_between(memory.created_at, now) < UNDATED_FACT_DAYS
    )
    if not recent:
        notes.append(when(memory.created_at, now))
    return f"- {quote(memory.text)}" + (f" ({', '.join(notes)})" if notes else "")


def episode_line(memory: Memory, now: datetime | None = None) -> str:
    who = memory.speaker or "someone"
    if who == "assistant" and memory.context:  # the model's words, only beside what they answered
        asker, _, asked = memory.context.partition(": ")
        said = f"{asker} said {quote(asked)}; you replied (your words, not facts): {quote(memory.text)}"
        return f"- {when(memory.created_at, now)}, {said}"
    return f"- {when(memory.created_at, now)}, {who}: {quote(memory.text)}"
