"""Recall's final selection joins a neighbouring turn that scores nearly as well (assistant/memory/selection.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from memory_helpers import Clock, open_engine

from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.engine import display_text
from assistant.memory.selection import JOIN_SHARE, quoted, select
from assistant.memory.types import Kind, Memory, Message, RecallHit, Role


def hit(memory_id: str, text: str, score: float, *, speaker: str, context: str | None = None) -> RecallHit:
    memory = Memory(
        user="u",
        kind=Kind.EPISODIC,
        text=text,
        id=memory_id,
        speaker=speaker,
        conversation_id="c1",
        context=context,
        sources=[memory_id.removeprefix("ep-")],
    )
    return RecallHit(memory, score)


def exchange(second_score: float, *, second_speaker: str = "Andrew") -> list[RecallHit]:
    question = hit("ep-1", "Did you take Toby hiking last weekend?", 0.9, speaker="Audrey")
    answer = hit("ep-2", "Yes, up Mount Wilson!", second_score, speaker=second_speaker, context=quoted(question.memory))
    other = hit("ep-9", "I baked muffins.", 0.5, speaker="Audrey")
    return sorted([question, answer, other], key=lambda h: h.score, reverse=True)


def test_a_neighbour_scoring_nearly_as_well_is_joined_and_takes_no_place_of_its_own() -> None:
    results = select(exchange(0.9 * JOIN_SHARE + 0.01), k=2)
    assert [r.memory.id for r in results] == ["ep-1", "ep-9"]
    joined = results[0].memory
    assert joined.sources == ["1", "2"]
    assert display_text(joined) == "Audrey: Did you take Toby hiking last weekend?\nAndrew: Yes, up Mount Wilson!"


def test_a_neighbour_before_the_result_comes_first_in_the_joined_text() -> None:
    hits = exchange(0.95)  # the answer is now the best match, its question the neighbour before it
    results = select(hits, k=1)
    assert results[0].memory.id == "ep-2"
    assert results[0].memory.sources == ["1", "2"]
    assert display_text(results[0].memory).startswith("Audrey: Did you take Toby")


def test_a_weak_neighbour_and_the_assistants_words_are_never_joined() -> None:
    weak = select(exchange(0.9 * JOIN_SHARE - 0.05), k=3)
    assert [r.memory.sources for r in weak] == [["1"], ["2"], ["9"]]
    model = select(exchange(0.89, second_speaker="assistant"), k=3)
    assert [r.memory.sources for r in model] == [["1"], ["2"], ["9"]]


@pytest.fixture(scope="module")
def embedder(embedder_path: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(embedder_path)


def test_recall_returns_the_answer_beside_the_question_it_matched(tmp_path: Path, embedder) -> None:
    engine = open_engine(tmp_path / "memory", embedder, clock=Clock())
    said = [
        ("Audrey", "I bought new collars and tags for my dogs, so cute!"),
        ("Andrew", "Nice! I started a new job as a financial analyst."),
        ("Audrey", "Did you get to take Toby hiking on the trail last weekend?"),
        ("Andrew", "Yes, we hiked the trail up Mount Wilson, Toby loved hiking it!"),
        ("Audrey", "My dogs love the park near my place."),
    ]
    messages = [Message(engine.user, Role.USER, text, "c1", speaker=who) for who, text in said]
    engine.add_messages(messages)
    engine.maintain()
    best = engine.search("Which trail did Toby go hiking on last weekend?", k=2, reinforce=False)
    question, answer = messages[2].id, messages[3].id
    joined = [h for h in best if answer in h.memory.sources]
    assert joined and question in joined[0].memory.sources
    assert "Andrew: Yes, we hiked" in display_text(joined[0].memory)
    assert len(best) == 2 and all(question not in h.memory.sources for h in best if h is not joined[0])
    engine.close()


def test_an_answer_whose_vector_resembles_its_question_is_not_collapsed_into_it() -> None:
    """Blended with its reply, a question's vector looks like the answer's: both stay results,
    each shown, instead of the answer's source being inherited without its text."""
    import numpy as np

    from assistant.memory.ranking import Matched, collapse_duplicates

    hits = exchange(0.85)
    same = np.ones(4, dtype=np.float32) / 2.0
    repeated = Memory(user="u", kind=Kind.EPISODIC, text="Yes, up Mount Wilson!!", id="ep-7", conversation_id="c2")
    pairs = [(h, Matched(h.memory.text, same, tuple(h.memory.sources))) for h in hits]
    pairs.append((RecallHit(repeated, 0.4), Matched(repeated.text, same, ("7",))))
    kept = collapse_duplicates(pairs, 10)
    assert [h.memory.id for h in kept] == ["ep-1", "ep-2"]  # the muffins and the repeat are duplicates by vector
    assert kept[0].memory.sources == ["1", "9", "7"]


def test_one_persons_two_messages_in_a_row_still_collapse_when_they_say_the_same() -> None:
    """Only a message and another person's reply share a blended vector; the same person
    repeating themselves in the next message is a duplicate like any other."""
    import numpy as np

    from assistant.memory.ranking import Matched, collapse_duplicates

    hits = exchange(0.85, second_speaker="Audrey")
    same = np.ones(4, dtype=np.float32) / 2.0
    pairs = [(h, Matched(h.memory.text, same, tuple(h.memory.sources))) for h in hits]
    kept = collapse_duplicates(pairs, 10)
    assert [h.memory.id for h in kept] == ["ep-1"]
    assert kept[0].memory.sources == ["1", "2", "9"]
