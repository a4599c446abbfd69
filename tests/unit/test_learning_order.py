"""Two passes per turn: a turn's rules never wait behind an earlier turn's model pass, and facts keep their order.

A chat client waits for its turn's rules' pass only (what the user stated outright). The
model's pass of an earlier turn may so run after a later turn's rules: what it finds must
never replace a value the user gave since.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from memory_helpers import Clock, open_engine
from test_scheduler import UserTurnHolder

from assistant.application.learning_pass import learn_stated, learn_with_model
from assistant.application.scheduler import Scheduler
from assistant.application.session import Assistant, Turn
from assistant.config import Settings
from assistant.learning.model_extraction import ExtractedFact, ExtractionOutput
from assistant.llm.runner import ChatMessage, ModelRunner
from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.engine import MemoryEngine
from assistant.memory.types import Status

# Rules read no home in it (no "moro em"); a model may: "User lives in Lisboa". Not English: there
# the model's home facts are refused, the rules read them better.
EARLIER = "Lisboa é a minha casa há dez anos e adoro os velhos elétricos."
LATER = "I live in Porto now."


@pytest.fixture(scope="module")
def embedder(embedder_path: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(embedder_path)


@pytest.fixture(scope="module")
def runner(starter_model_path: Path) -> ModelRunner:
    runner = ModelRunner(starter_model_path, context_size=2048, threads=2, seed=1)
    runner.load()
    return runner


class SaysLisboa:
    """A model that finds where the user lives in the earlier message: the fact the guard is about."""

    def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: type[ExtractionOutput],
        *,
        max_tokens: int = 200,
        background: bool = True,
        seconds: float | None = None,
    ) -> ExtractionOutput:
        return ExtractionOutput(facts=[ExtractedFact(slot="home", value="Lisboa")])


def homes(engine: MemoryEngine) -> list[str]:
    return [memory.text for memory in engine.active_with_key("user.home")]


def two_turns(assistant: Assistant, clock: Clock) -> tuple[Turn, Turn]:
    earlier = Turn(conversation_id="c1", user_text=EARLIER, reply="Lovely city.", at=clock())
    clock.advance(minutes=1)
    later = Turn(conversation_id="c1", user_text=LATER, reply="Noted.", at=clock())
    for turn in (earlier, later):
        assistant.prepare_user_message(turn)
    return earlier, later


def test_an_earlier_turns_model_pass_never_replaces_a_value_the_user_gave_since(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    clock = Clock()
    engine = open_engine(tmp_path / "store", embedder, user="default", clock=clock)
    settings = Settings(model_extraction=True)
    earlier = Turn(conversation_id="c1", user_text=EARLIER, at=clock(), user_message_id="m-earlier")
    alone = learn_with_model(earlier, engine=engine, runner=SaysLisboa())  # type: ignore[arg-type]
    assert homes(engine) == ["User lives in Lisboa"], "the model's pass alone saves the home it found"
    assert alone.saved and alone.saved[0].valid_from == earlier.at, "valid from when it was said"
    engine.forget([memory.id for memory in alone.saved], reason="test: start over")

    clock.advance(minutes=1)
    later = Turn(conversation_id="c1", user_text=LATER, at=clock(), user_message_id="m-later")
    stated, wants_model = learn_stated(earlier, engine=engine, settings=settings)
    assert wants_model and not [m for m in stated.saved if m.key == "user.home"], "the rules read no home in it"
    stated, _ = learn_stated(later, engine=engine, settings=settings)
    assert homes(engine) == ["User lives in Porto now"] or homes(engine) == ["User lives in Porto"]
    late = learn_with_model(earlier, engine=engine, runner=SaysLisboa())  # type: ignore[arg-type]
    assert late.saved == [] and late.superseded == []
    assert [text for text in homes(engine) if "Lisboa" in text] == []
    assert not [m for m in engine.list(statuses=[Status.SUPERSEDED]) if "Porto" in m.text]


def test_a_later_turns_rules_do_not_wait_for_an_earlier_turns_model_pass(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, runner: ModelRunner
) -> None:
    clock = Clock()
    engine = open_engine(tmp_path / "store", embedder, user="default", clock=clock)
    assistant = Assistant(Settings(model_extraction=True), runner=runner, engine=engine, clock=clock)
    earlier, later = two_turns(assistant, clock)
    state = tmp_path / "jobs.json"
    events: list[tuple[str, str, bool]] = []
    both_stated = threading.Event()

    def record(result) -> None:
        events.append((result.job, "learned" if result.final else "stated", result.final))
        if sum(1 for _job, what, _final in events if what == "stated") == 2:
            both_stated.set()

    user = UserTurnHolder(runner)
    scheduler = Scheduler(assistant, state_path=state, use_model=True, on_stated=record, on_learned=record)
    scheduler.start()
    user.take()  # the model is busy (the user's next reply): model passes must wait, rules must not
    try:
        first = scheduler.queue_learning(earlier)
        second = scheduler.queue_learning(later)
        assert both_stated.wait(60), f"the rules' passes waited for the model: {events}"
        assert [what for _job, what, _final in events] == ["stated", "stated"]
        assert [job for job, _what, _final in events] == [first, second]
        pending = json.loads(state.read_text())["pending"]
        assert [(r["job"], r["stated"]) for r in pending] == [(first, True), (second, True)], "persisted"
        assert [text for text in homes(engine) if "Porto" in text], "the later turn's rules saved its home"
        scheduler.use_model = False  # the model passes themselves: see the next test
        user.give_back()
        assert scheduler.wait_idle(timeout=120)
    finally:
        user.release.set()
        scheduler.close()
    assert [job for job, what, _final in events if what == "learned"] == [first, second]
    assert json.loads(state.read_text())["pending"] == []


def test_rules_parts_queued_while_a_model_pass_runs_finish_before_it(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, runner: ModelRunner
) -> None:
    clock = Clock()
    engine = open_engine(tmp_path / "store", embedder, user="default", clock=clock)
    assistant = Assistant(Settings(model_extraction=True), runner=runner, engine=engine, clock=clock)
    earlier, later = two_turns(assistant, clock)
    events: list[tuple[str, bool, bool]] = []  # (job, final, the model was generating then)
    scheduler = Scheduler(
        assistant,
        state_path=tmp_path / "jobs.json",
        use_model=True,
        on_stated=lambda r: events.append((r.job, r.final, runner.busy)),
        on_learned=lambda r: events.append((r.job, r.final, runner.busy)),
    )
    scheduler.start()
    try:
        first = scheduler.queue_learning(earlier)
        deadline = time.monotonic() + 120
        while not runner.busy:  # the earlier turn's model pass is generating
            assert time.monotonic() < deadline, "the model pass never started"
            time.sleep(0.005)
        second = scheduler.queue_learning(later)
        deadline = time.monotonic() + 60
        while (second, False, True) not in events and (second, False, False) not in events:
            assert time.monotonic() < deadline, f"the later turn's rules never finished: {events}"
            time.sleep(0.01)
        assert (first, True) not in [(job, final) for job, final, _busy in events], (
            "the later turn's rules waited for the earlier model pass"
        )
        scheduler.use_model = False  # the earlier pass goes on with the real model; the later one is skipped
        assert scheduler.wait_idle(timeout=600)
    finally:
        scheduler.close()
    assert any(job == second and not final and busy for job, final, busy in events), (
        f"the later turn's rules should finish while the model reads the earlier exchange: {events}"
    )
    assert [job for job, final, _busy in events if final] == [first, second]
    # The earlier turn's model pass ran after the later turn's rules: whatever the real model
    # found in it, the newer home stands (the scripted test above makes it find Lisboa).
    assert len(homes(engine)) == 1 and "Porto" in homes(engine)[0], homes(engine)


def test_a_restarted_scheduler_runs_only_the_model_pass_of_a_turn_whose_rules_were_done(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    clock = Clock()
    engine = open_engine(tmp_path / "store", embedder, user="default", clock=clock)
    assistant = Assistant(Settings(model="no-such-model", model_extraction=True), engine=engine, clock=clock)
    turn = Turn(conversation_id="c1", user_text="I am allergic to sesame and I love hiking.", at=clock())
    assistant.prepare_user_message(turn)
    state = tmp_path / "jobs.json"
    stated: list = []
    first = Scheduler(assistant, state_path=state, use_model=True, on_stated=stated.append)
    first._rules_thread = threading.Thread(target=first._run_rules, daemon=True)  # the rules alone: as if
    first._rules_thread.start()  # killed before the model's pass
    job = first.queue_learning(turn)
    deadline = time.monotonic() + 60
    while not stated:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    first.close()
    [record] = json.loads(state.read_text())["pending"]
    assert record["job"] == job and record["stated"] and record["stated_ids"] == list(stated[0].saved_ids)
    count = len(engine.list(statuses=[Status.ACTIVE]))

    learned: list = []
    restarted = Scheduler(assistant, state_path=state, use_model=False, on_learned=learned.append)
    restarted.start()
    try:
        assert restarted.wait_idle(timeout=120)
    finally:
        restarted.close()
    assert [result.job for result in learned] == [job]
    assert set(learned[0].saved_ids) == set(record["stated_ids"]), "one Undo still covers what the rules saved"
    assert len(engine.list(statuses=[Status.ACTIVE])) == count, "the rules' part was not applied again"
    assert json.loads(state.read_text())["pending"] == []


def test_turns_keep_their_order_of_facts_through_the_scheduler_when_time_moves_on(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    clock = Clock()
    engine = open_engine(tmp_path / "store", embedder, user="default", clock=clock)
    assistant = Assistant(Settings(model_extraction=False), engine=engine, clock=clock)
    turns = []
    for text in ("I live in Lisbon.", "I live in Porto.", "I live in Berlin."):
        turns.append(Turn(conversation_id="c1", user_text=text, at=clock()))
        assistant.prepare_user_message(turns[-1])
        clock.advance(minutes=1)
    scheduler = Scheduler(assistant, state_path=tmp_path / "jobs.json", use_model=False)
    scheduler.start()
    try:
        for turn in turns:
            scheduler.queue_learning(turn)
        assert scheduler.wait_idle(timeout=120)
    finally:
        scheduler.close()
    assert homes(engine) == ["User lives in Berlin"]
    superseded = [m.text for m in engine.list(statuses=[Status.SUPERSEDED]) if m.key == "user.home"]
    assert sorted(superseded) == ["User lives in Lisbon", "User lives in Porto"]


def test_a_chat_client_can_leave_once_the_rules_are_saved_and_the_next_process_finishes(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, runner: ModelRunner
) -> None:
    # `assistant chat` in its own process waits for what the user stated, and for the model's
    # reading no longer than the reply took: the rest must stay queued for the next run.
    clock = Clock()
    engine = open_engine(tmp_path / "store", embedder, user="default", clock=clock)
    assistant = Assistant(Settings(model_extraction=True), runner=runner, engine=engine, clock=clock)
    _earlier, later = two_turns(assistant, clock)
    state = tmp_path / "jobs.json"
    user = UserTurnHolder(runner)
    first = Scheduler(assistant, state_path=state, use_model=True)
    first.start()
    user.take()  # the model stays busy: its pass cannot finish
    try:
        job = first.queue_learning(later)
        assert first.wait_idle(timeout=60, stated_only=True), "the rules' pass is done without the model"
        assert [text for text in homes(engine) if "Porto" in text]
        assert not first.wait_idle(timeout=0.5), "the model's pass is still to run"
    finally:
        first.close()
        user.release.set()
    pending = json.loads(state.read_text())["pending"]
    assert [(record["job"], record["stated"]) for record in pending] == [(job, True)]

    finished: list[str] = []
    second = Scheduler(assistant, state_path=state, use_model=False, on_learned=lambda r: finished.append(r.job))
    second.start()
    try:
        assert second.wait_idle(timeout=120)
    finally:
        second.close()
    assert finished == [job] and json.loads(state.read_text())["pending"] == []
