"""The people a question names (assistant/memory/people.py)."""

from __future__ import annotations

import json
from pathlib import Path

from memory_helpers import Clock, open_engine

from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.people import named_people, without_names


def test_capitalised_words_past_the_question_words_are_the_people_asked_about() -> None:
    assert named_people("When did Jon lose his job as a banker?") == ["Jon"]
    assert named_people("How do Jon and Gina both like to destress? And Ana?") == ["Jon", "Gina"]
    assert named_people("What is Gina's favorite style of dance?") == ["Gina"]


def test_months_weekdays_and_question_words_are_nobody() -> None:
    assert named_people("What did I do in July 2024, on Monday?") == []
    assert named_people("When did I see a concert?") == []


def test_a_name_leaves_the_question_only_when_something_is_left_to_ask() -> None:
    assert without_names("What kind of art does Evan make?", ["Evan"]) == "What kind of art does make?"
    assert without_names("What is Evan's favorite food?", ["Evan"]) == "What is favorite food?"
    assert without_names("Did Jon and Gina both dance?", ["Jon", "Gina"]) == "Did and both dance?"
    assert without_names("Who is Jon?", ["Jon"]) == "Who is Jon?"  # nothing else to ask about
    assert without_names("Tell me about Jon", ["Jon"]) == "Tell me about Jon"
    assert without_names("Where does Zara work?", []) == "Where does Zara work?"


CONVERSATION = [
    ("Sam", "Hey Evan! Long time no see, how have you been?"),
    ("Evan", "Pretty good, Sam. Work has been busy but I'm managing."),
    ("Sam", "Evan, you always manage. What keeps you sane these days, Evan?"),
    ("Evan", "Honestly, I love painting landscapes on weekends, mostly mountains and lakes."),
    ("Sam", "Nice! I've been cooking more, trying new recipes."),
    ("Evan", "That's great. What did you make last?"),
    ("Sam", "A lasagna, Evan. You should come over and try it, Evan!"),
    ("Evan", "Count me in. I'll bring dessert."),
    ("Sam", "Evan, did you ever finish that thing you were working on, Evan?"),
    ("Evan", "Not yet, soon. My neighbour Zara says hi, she's a dentist now."),
]
PAINTING = CONVERSATION[3][1]


def test_a_question_about_someone_who_speaks_is_embedded_without_their_name(
    tmp_path: Path, embedder_path: Path
) -> None:
    """Every one of Evan's messages is embedded as "Evan: ..." and Sam keeps saying "Evan": the
    name matches half the conversation alike. Left out of the question's embedding (the words'
    search and the speaker's lead keep it), what the question asks decides."""
    engine = open_engine(tmp_path / "memory", SentenceTransformerEmbedder(embedder_path), clock=Clock())
    question = "What does Evan do to relax?"
    assert engine.recaller.phrasings([question], engine.user) == [question]  # nobody speaks yet
    records = [
        {
            "session_id": "s1",
            "timestamp": f"2024-05-02T10:{n:02d}:00Z",
            "id": f"m{n}",
            "role": "user" if speaker == "Sam" else "assistant",  # an imported chat between two people
            "speaker": speaker,
            "content": text,
        }
        for n, (speaker, text) in enumerate(CONVERSATION)
    ]
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    assert engine.import_file(path).imported == len(CONVERSATION)

    assert engine.recaller.phrasings([question], engine.user) == ["What does do to relax?"]
    # Zara is named in the messages but never speaks: her name is what the answer says.
    assert engine.recaller.phrasings(["Where does Zara work?"], engine.user) == ["Where does Zara work?"]
    found = [hit.memory.text for hit in engine.search(question, k=3, reinforce=False)]
    assert any(PAINTING in text for text in found)

    engine.recaller.phrasings = lambda queries, owner: list(queries)  # type: ignore[method-assign]
    found = [hit.memory.text for hit in engine.search(question, k=3, reinforce=False)]
    assert not any(PAINTING in text for text in found)  # with the name, the greetings win
