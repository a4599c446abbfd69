"""Relevance of recall's candidates: fused search scores, exchanges, conversations, whose words.

Measured on long multi-session conversations (benchmarks/recall_quality.py, LoCoMo dev set):
fusing the two searches' normalised *scores* beat reciprocal rank fusion by 11 points of R@5
(rank fusion throws away how much better the best match is than the next); a conversation
whose best message matches well lifts its other matches a little; a message inherits part of
the relevance of the reply it got, since an answer often sits in the question before the
reply that matched ("What offer did Gina make?" matches "Let's manage your socials", the
offer itself is the message before); a question about a person is answered in that
person's words, and a question asking when by a message that says when. Pure functions over
the candidate rows: the cost grows with the number of candidates (tens), never with the store.

Measured on LoCoMo dev and not kept (R@1/R@5/R@10, multi-hop R@10; the reference 0.446, 0.738,
0.807, 0.522): each long message's best sentence as a second vector (0.461, 0.741, 0.806, 0.505
against 0.436, 0.729, 0.803, 0.512 before ASKING_WORDS: a vector per sentence stored for two
points of R@1); the content words the top five hits share
searched again as a third ranking, pseudo-relevance feedback (0.441, 0.748, 0.807, 0.533 at a
0.3 weight, and 0.517-0.530 at the weights beside it: noise); a lead for a message that tells of
the speaker's own past doings ("we went", "I took") under a question asking what someone has
done (0.467, 0.733, 0.806, 0.527); short messages, or ones about "you" more than "I", counting
less (changes of at most 0.006 in R@10 and multi-hop); the question's opening ("What kind of
... has", "Did") cut before it is embedded, to read more like the statement that answers it
(0.447, 0.735, 0.798, 0.511: MiniLM was trained on questions paired with their answers); the
greetings that open a message ("Hey Audrey! How are you?") cut before it is embedded, though 27
of the 151 multi-hop answers missing from the top 10 open a session (0.438, 0.733, 0.805, 0.515).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from assistant.memory.dates import MONTH_NAMES
from assistant.memory.message_log import quote
from assistant.memory.types import aware

# Of the fused relevance; the rest is the full-text (BM25) score. 0.5 is the bundled MiniLM's
# best: 0.6 lost the synthetic set's R@5 (0.811 -> 0.792). A stronger embedder earns more, and the
# `recall_dense_share` setting gives it: with all-mpnet-base-v2, 0.6 raised LoCoMo dev multi-hop
# R@10 0.536 -> 0.557 and the synthetic set's R@5 0.830 -> 0.887; 0.7 fell back on LoCoMo dev
# (R@10 0.808, multi-hop 0.539).
DENSE_SHARE = 0.5
DENSE_MIN_SPREAD = 0.25  # the least cosine range the dense score is scaled over
CONVERSATION_SHARE = 0.3  # how much a conversation's best match lifts its other matches
TIME_SHARE = 0.5  # the lead of a match inside the time the query names
ANSWERED_SHARE = 0.5  # how much of a reply's relevance the message it answered inherits
# The lead of a message said by the person the query asks about ("When did Jon lose his
# job?" is answered by Jon): 0.3 beat 0.15 and 0 by 1.3 and 5.7 points of R@5 on LoCoMo dev.
SPEAKER_SHARE = 0.3
# The lead of a message that says when, for a question that asks when ("When did Evan meet
# his wife?" / "Last week I met this awesome woman"): 0.2 raised LoCoMo dev R@5 0.721 -> 0.729
# and R@10 0.798 -> 0.803, the synthetic set's R@5 0.792 -> 0.811; 0.3 lost some of it. The
# same lead for "how many" questions and numbers lost 2 points of R@10 (a count is rarely said
# as one), and for "where" questions and capitalised names changed nothing.
WHEN_SHARE = 0.2
# The assistant's own words count for less than the user's: a reply that restated the user
# wrongly must not outrank what the user said.
ASSISTANT_WORDS = 0.85
# A message that ends by asking ("...Have you ever gone fishing?") holds its answer in the reply,
# not in itself, yet shares the question's words: it counts for less. 0.9 raised LoCoMo dev R@1
# 0.436 -> 0.446, R@5 0.729 -> 0.738 and multi-hop R@10 0.512 -> 0.522, the synthetic set's R@1
# 0.604 -> 0.623; 0.8 lost R@10 and multi-hop. A stronger discount for a message that only asks
# (every sentence a question) traded R@1 for R@5 (0.441, 0.750).
ASKING_WORDS = 0.9
ASSISTANT = "assistant"


def text_scores(rankings: Sequence[tuple[Sequence[Mapping[str, Any]], float]]) -> dict[str, float]:
    """Each candidate's weighted full-text scores, summed over the rankings that have one (the
    question's words, the names of the second hop)."""
    scores: dict[str, float] = {}
    for ranking, weight in rankings:
        for row in ranking:
            if row.get("_score") is not None:
                scores[row["id"]] = scores.get(row["id"], 0.0) + weight * float(row["_score"])
    return scores


def in_time(
    rows: Mapping[str, Mapping[str, Any]], relevance: Mapping[str, float], window: tuple[datetime, datetime] | None
) -> dict[str, float]:
    """The time the query names ("in March") as a soft filter: what was said inside it, or told
    of it ("yesterday I...", said on 1 April), ranks above what was not, each side in its own
    order (TIME_SHARE of the scale is the gap)."""
    if window is None:
        return dict(relevance)
    since, until = (aware(moment) for moment in window)
    out = {}
    for memory_id, row in rows.items():
        moment = row.get("created_at")
        inside = False
        if isinstance(moment, datetime):
            said = aware(moment)
            earliest, latest = told_of(str(row.get("text") or ""), said)
            # Said then ("On June 26 I said: last weekend I...") or telling of then.
            inside = since <= said <= until or (earliest <= until and since <= latest)
        out[memory_id] = (1.0 - TIME_SHARE) * relevance[memory_id] + (TIME_SHARE if inside else 0.0)
    return out


_TOLD_OF_PAST = re.compile(
    r"\b(?:(?P<day>yesterday|last night)|(?P<week>last week(?:end)?)|(?P<month>last month)|"
    r"(?P<count>\d+|a|an|one|two|three|four|five|six) (?P<unit>days?|weeks?) ago)\b",
    re.I,
)
_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


_ASKS_WHEN = re.compile(r"^\W*when\b", re.I)
_SAYS_WHEN = re.compile(
    r"\b(?:yesterday|tonight|tomorrow|ago|last (?:night|week|weekend|month|year)|"
    r"(?:next|this) (?:week|weekend|month|year)|(?:19|20)\d\d|"
    r"(?:last |next |on )?(?:mon|tues|wednes|thurs|fri|satur|sun)day|"
    # Every month but May, as often a verb ("I may go").
    + "|".join(name.lower() for name in MONTH_NAMES if name and name != "May")
    + r")\b",
    re.I,
)


def asks_when(query: str) -> bool:
    return bool(_ASKS_WHEN.search(query))


def says_when(rows: Mapping[str, Mapping[str, Any]], relevance: Mapping[str, float], asked: bool) -> dict[str, float]:
    """For a question that asks when, the messages that say when (a day, a month, "last
    week") lead by WHEN_SHARE of the scale; each side keeps its order."""
    if not asked:
        return dict(relevance)
    return {
        memory_id: (1.0 - WHEN_SHARE) * relevance[memory_id]
        + (WHEN_SHARE if _SAYS_WHEN.search(str(row.get("text") or "")) else 0.0)
        for memory_id, row in rows.items()
    }


def told_of(text: str, said_at: datetime) -> tuple[datetime, datetime]:
    """When what a message tells happened: "Yesterday I gave a talk", said on 1 August, tells of
    31 July; a message with no such words tells of the moment it was said."""
    match = _TOLD_OF_PAST.search(text)
    if match is None:
        return said_at, said_at
    if match.group("day"):
        return said_at - timedelta(days=1, hours=12), said_at - timedelta(hours=12)
    if match.group("week"):
        return said_at - timedelta(days=8), said_at - timedelta(days=1)
    if match.group("month"):  # the calendar month before
        first = said_at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return (first - timedelta(days=1)).replace(day=1), first - timedelta(microseconds=1)
    count = match.group("count").lower()
    per_unit = 7 if match.group("unit").lower().startswith("w") else 1
    days = (int(count) if count.isdigit() else _COUNTS[count]) * per_unit
    return said_at - timedelta(days=days + 1), said_at - timedelta(days=max(0, days - 1))


def fused_relevance(
    candidates: Sequence[str],
    similarity: Mapping[str, float],
    text: Mapping[str, float],
    dense_share: float = DENSE_SHARE,
) -> dict[str, float]:
    """In [0, 1]: the cosine similarity min-max scaled over the candidates (over at least
    DENSE_MIN_SPREAD), `dense_share` of it, blended with the BM25 score as a share of the best
    one (a candidate the text search missed scores 0 there)."""
    if not candidates:
        return {}
    cosines = [similarity.get(memory_id, 0.0) for memory_id in candidates]
    high = max(cosines)
    # Over a handful of candidates, min-max would make a hair's difference the whole scale.
    low = min(min(cosines), high - DENSE_MIN_SPREAD)
    spread = high - low
    best_text = max(text.values(), default=0.0)
    relevance = {}
    for memory_id, value in zip(candidates, cosines, strict=True):
        dense = (value - low) / spread if spread > 0 else 1.0
        sparse = text.get(memory_id, 0.0) / best_text if best_text > 0 else 0.0
        relevance[memory_id] = dense_share * dense + (1.0 - dense_share) * sparse
    return relevance


def quoted_as_context(row: Mapping[str, Any]) -> str:
    """How a message is quoted as the context of the reply to it (message_log.py writes it so)."""
    return quote(row.get("speaker"), str(row.get("text") or ""))


def is_assistant_words(row: Mapping[str, Any]) -> bool:
    return row.get("kind") == "episodic" and row.get("speaker") == ASSISTANT


def ends_asking(row: Mapping[str, Any]) -> bool:
    return str(row.get("text") or "").rstrip().endswith("?")


def by_exchange(rows: Mapping[str, Mapping[str, Any]], relevance: Mapping[str, float]) -> dict[str, float]:
    """Exchanges among the candidates: a message inherits part of its reply's relevance; the
    assistant's words are discounted, and the user message an assistant reply answered takes
    the reply's full relevance, so the user's own words come first. A message that ends by
    asking counts for less: its answer is the reply."""
    out = dict(relevance)
    by_quote: dict[tuple[str, str], str] = {}
    for memory_id, row in rows.items():
        if row.get("kind") == "episodic":
            by_quote.setdefault((str(row.get("conversation_id")), quoted_as_context(row)), memory_id)
    for memory_id, row in rows.items():
        if is_assistant_words(row):
            out[memory_id] = relevance[memory_id] * ASSISTANT_WORDS
    for memory_id, row in rows.items():
        context = row.get("context")
        answered = by_quote.get((str(row.get("conversation_id")), str(context))) if context else None
        if answered is None or answered == memory_id:
            continue
        share = 1.0 if is_assistant_words(row) and not is_assistant_words(rows[answered]) else ANSWERED_SHARE
        out[answered] = max(out[answered], share * relevance[memory_id])
    return {
        memory_id: value * ASKING_WORDS if ends_asking(rows[memory_id]) else value for memory_id, value in out.items()
    }


def by_conversation(rows: Mapping[str, Mapping[str, Any]], relevance: Mapping[str, float]) -> dict[str, float]:
    """Each message lifted toward its conversation's best match, kept in [0, 1]; others unchanged."""
    best: dict[str, float] = {}
    for memory_id, row in rows.items():
        if row.get("conversation_id"):
            conversation = str(row["conversation_id"])
            best[conversation] = max(best.get(conversation, 0.0), relevance[memory_id])
    out = dict(relevance)
    for memory_id, row in rows.items():
        if row.get("conversation_id"):
            lift = CONVERSATION_SHARE * best[str(row["conversation_id"])]
            out[memory_id] = (relevance[memory_id] + lift) / (1.0 + CONVERSATION_SHARE)
    return out


def by_speaker(
    rows: Mapping[str, Mapping[str, Any]], relevance: Mapping[str, float], people: Sequence[str]
) -> dict[str, float]:
    """A question about someone ("When did Jon lose his job?") is answered in their own words:
    messages said by a person the query names lead by SPEAKER_SHARE of the scale. A name that
    is nobody's among the candidates changes nothing."""
    named = {person.casefold() for person in people}
    if not named or not any(str(row.get("speaker") or "").casefold() in named for row in rows.values()):
        return dict(relevance)
    out = {}
    for memory_id, row in rows.items():
        said_by_them = str(row.get("speaker") or "").casefold() in named
        out[memory_id] = (1.0 - SPEAKER_SHARE) * relevance[memory_id] + (SPEAKER_SHARE if said_by_them else 0.0)
    return out
