"""The pure functions that turn recall's candidates into relevance (assistant/memory/fusion.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assistant.memory.fusion import (
    ASKING_WORDS,
    ASSISTANT_WORDS,
    CONVERSATION_SHARE,
    DENSE_SHARE,
    SPEAKER_SHARE,
    TIME_SHARE,
    WHEN_SHARE,
    asks_when,
    by_conversation,
    by_exchange,
    by_speaker,
    fused_relevance,
    in_time,
    quoted_as_context,
    says_when,
    text_scores,
    told_of,
)


def row(memory_id: str, text: str = "", *, speaker: str = "user", conversation: str = "c1", **extra):
    return {
        "id": memory_id,
        "kind": "episodic",
        "text": text,
        "speaker": speaker,
        "conversation_id": conversation,
        **extra,
    }


def test_text_scores_sum_the_weighted_scores_of_every_ranking_that_has_one() -> None:
    words = [{"id": "a", "_score": 4.0}, {"id": "b", "_score": 2.0}]
    names = [{"id": "b", "_score": 6.0}]
    vectors = [{"id": "a", "_distance": 0.2}]
    assert text_scores([(words, 1.0), (names, 0.5), (vectors, 1.0)]) == {"a": 4.0, "b": 5.0}


def test_fused_relevance_keeps_how_much_better_the_best_match_is() -> None:
    similarity = {"a": 0.8, "b": 0.5, "c": 0.3}
    text = {"b": 10.0, "c": 5.0}
    relevance = fused_relevance(["a", "b", "c"], similarity, text)
    assert relevance["a"] == pytest.approx(DENSE_SHARE)  # best vector match, missed by the words
    assert relevance["b"] == pytest.approx(DENSE_SHARE * 0.4 + (1 - DENSE_SHARE))
    assert relevance["c"] == pytest.approx((1 - DENSE_SHARE) * 0.5)
    assert all(0.0 <= value <= 1.0 for value in relevance.values())
    meaning_only = fused_relevance(["a", "b", "c"], similarity, text, dense_share=1.0)
    assert meaning_only == pytest.approx({"a": 1.0, "b": 0.4, "c": 0.0})


def test_a_hairs_difference_between_few_candidates_is_not_the_whole_scale() -> None:
    relevance = fused_relevance(["a", "b"], {"a": 0.61, "b": 0.60}, {})
    assert relevance["a"] - relevance["b"] < 0.05
    assert fused_relevance([], {}, {}) == {}


def test_the_message_a_reply_answered_inherits_from_it_and_the_assistants_words_count_less() -> None:
    question = row("q", "My sister Ana moved to Porto.")
    reply = row("r", "So Ana lives in Lisbon!", speaker="assistant", context=quoted_as_context(question))
    other = row("o", "Unrelated", conversation="c2")
    relevance = by_exchange({"q": question, "r": reply, "o": other}, {"q": 0.4, "r": 0.9, "o": 0.5})
    assert relevance["r"] == pytest.approx(0.9 * ASSISTANT_WORDS)
    assert relevance["q"] == pytest.approx(0.9)  # the user's words take the reply's place
    assert relevance["o"] == 0.5


def test_a_message_that_ends_by_asking_counts_for_less_than_one_that_tells() -> None:
    asked = row("asked", "Where could I go fishing near Denver?  ")
    told = row("told", "I went fishing at Chatfield Lake last weekend.")
    asked_midway = row("midway", "Fishing? I went to Chatfield Lake.", conversation="c2")
    relevance = by_exchange(
        {"asked": asked, "told": told, "midway": asked_midway}, dict.fromkeys(("asked", "told", "midway"), 0.8)
    )
    assert relevance["asked"] == pytest.approx(0.8 * ASKING_WORDS) and ASKING_WORDS < 1.0
    assert relevance["told"] == relevance["midway"] == pytest.approx(0.8)


def test_a_reply_in_another_conversation_with_the_same_words_is_not_linked() -> None:
    question = row("q", "Hi!", conversation="c1")
    reply = row("r", "Hello!", speaker="Gina", conversation="c2", context=quoted_as_context(question))
    assert by_exchange({"q": question, "r": reply}, {"q": 0.1, "r": 0.9})["q"] == 0.1


def test_a_conversations_best_match_lifts_its_other_messages_and_facts_stay_as_they_were() -> None:
    rows = {
        "a": row("a", conversation="c1"),
        "b": row("b", conversation="c1"),
        "c": row("c", conversation="c2"),
        "f": {"id": "f", "kind": "semantic", "text": "fact", "conversation_id": None},
    }
    relevance = by_conversation(rows, {"a": 1.0, "b": 0.2, "c": 0.2, "f": 0.3})
    assert relevance["a"] == pytest.approx(1.0)
    assert relevance["b"] == pytest.approx((0.2 + CONVERSATION_SHARE) / (1 + CONVERSATION_SHARE))
    assert relevance["c"] == pytest.approx(0.2) and relevance["f"] == 0.3


def test_a_named_time_puts_what_was_said_inside_it_first_each_side_in_order() -> None:
    march = datetime(2024, 3, 10, tzinfo=UTC)
    rows = {
        "in-weak": row("in-weak", created_at=march),
        "in-strong": row("in-strong", created_at=march),
        "out": row("out", created_at=datetime(2024, 5, 1, tzinfo=UTC)),
    }
    relevance = {"in-weak": 0.1, "in-strong": 0.6, "out": 1.0}
    window = (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 31, 23, 59, tzinfo=UTC))
    ranked = sorted(rows, key=in_time(rows, relevance, window).__getitem__, reverse=True)
    assert ranked == ["in-strong", "in-weak", "out"]
    assert in_time(rows, relevance, None) == relevance


def test_a_message_said_by_the_person_the_query_names_leads() -> None:
    rows = {
        "jon": row("jon", "Lost my job", speaker="Jon"),
        "gina": row("gina", "Sorry about your job Jon", speaker="Gina"),
    }
    relevance = by_speaker(rows, {"jon": 0.5, "gina": 0.6}, ["Jon"])
    assert relevance["jon"] > relevance["gina"]
    assert relevance["gina"] == pytest.approx((1 - SPEAKER_SHARE) * 0.6)
    # A name nobody among the candidates goes by (a city, a film) changes nothing.
    assert by_speaker(rows, {"jon": 0.5, "gina": 0.6}, ["Paris"]) == {"jon": 0.5, "gina": 0.6}


def test_a_message_telling_of_yesterday_is_inside_the_month_it_tells_of() -> None:
    july = (datetime(2024, 7, 1, tzinfo=UTC), datetime(2024, 7, 31, 23, 59, tzinfo=UTC))
    rows = {
        "talk": row("talk", "Yesterday I gave a talk in Utrecht.", created_at=datetime(2024, 8, 1, 9, tzinfo=UTC)),
        "later": row("later", "I gave a talk in Utrecht.", created_at=datetime(2024, 8, 1, 9, tzinfo=UTC)),
    }
    relevance = in_time(rows, {"talk": 0.2, "later": 0.2}, july)
    assert relevance["talk"] == pytest.approx((1 - TIME_SHARE) * 0.2 + TIME_SHARE)
    assert relevance["later"] == pytest.approx((1 - TIME_SHARE) * 0.2)
    said = datetime(2024, 8, 10, tzinfo=UTC)
    assert told_of("I ran a race two weeks ago", said)[0] < datetime(2024, 7, 27, tzinfo=UTC)
    assert told_of("I ran a race", said) == (said, said)


def test_last_month_tells_of_the_calendar_month_before() -> None:
    earliest, latest = told_of("I took a road trip last month", datetime(2023, 8, 27, 18, tzinfo=UTC))
    assert earliest == datetime(2023, 7, 1, tzinfo=UTC)
    assert latest.date() == datetime(2023, 7, 31, tzinfo=UTC).date()


def test_a_message_said_on_the_named_day_is_inside_it_whatever_it_tells_of() -> None:
    day = (datetime(2023, 5, 24, tzinfo=UTC), datetime(2023, 5, 24, 23, 59, tzinfo=UTC))
    said = datetime(2023, 5, 24, 19, tzinfo=UTC)
    rows = {
        "told": row("told", "Last weekend I took my family on a road trip to Jasper.", created_at=said),
        "other day": row("other day", "A road trip to Jasper!", created_at=datetime(2023, 6, 2, tzinfo=UTC)),
    }
    relevance = in_time(rows, {"told": 0.2, "other day": 0.4}, day)
    assert relevance["told"] == pytest.approx((1 - TIME_SHARE) * 0.2 + TIME_SHARE)
    assert relevance["other day"] == pytest.approx((1 - TIME_SHARE) * 0.4)


def test_a_question_asking_when_puts_the_messages_that_say_when_first() -> None:
    rows = {
        "dated": row("dated", "Last weekend I met this awesome woman in Canada."),
        "undated": row("undated", "I met this awesome woman, she is so kind."),
    }
    relevance = {"dated": 0.3, "undated": 0.5}
    assert asks_when("When did Evan meet his future wife?") and not asks_when("Who did Evan meet?")
    lifted = says_when(rows, relevance, asked=True)
    assert lifted["dated"] == pytest.approx((1 - WHEN_SHARE) * 0.3 + WHEN_SHARE)
    assert lifted["undated"] == pytest.approx((1 - WHEN_SHARE) * 0.5)
    assert says_when(rows, relevance, asked=False) == relevance
    # "may" is a verb as often as a month; a weekday, a month or a year says when.
    for text, says in [("I may go", False), ("On Friday we went", True), ("back in 2019", True)]:
        assert (says_when({"m": row("m", text)}, {"m": 0.0}, asked=True)["m"] > 0) is says
