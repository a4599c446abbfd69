"""The scheduler: jobs off the caller's thread, the user's chat first, cancel, progress, persisted state."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from memory_helpers import Clock, open_engine

from assistant.application.scheduler import JobStatus, Scheduler
from assistant.application.session import Assistant, Turn
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.llm.runner import ChatMessage, ModelRunner
from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.types import Kind, Status

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from evalset import build_evalset  # noqa: E402


@pytest.fixture(scope="module")
def embedder(embedder_path: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(embedder_path)


@pytest.fixture(scope="module")
def runner(starter_model_path: Path) -> ModelRunner:
    runner = ModelRunner(starter_model_path, context_size=2048, threads=2, seed=1)
    runner.load()
    return runner


def make_assistant(tmp_path: Path, embedder, runner, sessions: int = 4) -> tuple[Assistant, Clock]:
    evalset = build_evalset(sessions=sessions, seed=9)
    clock = Clock(evalset.end + timedelta(days=90))
    engine = open_engine(tmp_path / "store", embedder, user="default", clock=clock)
    engine.import_jsonl(json.dumps(message) + "\n" for message in evalset.messages)
    return Assistant(Settings(), runner=runner, engine=engine, clock=clock), clock


def test_maintenance_runs_off_thread_and_reports_progress(tmp_path: Path, embedder, runner) -> None:
    assistant, _clock = make_assistant(tmp_path, embedder, runner, sessions=3)
    seen: list[tuple[JobStatus, str]] = []
    scheduler = Scheduler(
        assistant,
        state_path=tmp_path / "jobs.json",
        use_model=False,
        on_progress=lambda status: seen.append((status, threading.current_thread().name)),
    )
    scheduler.start()
    try:
        scheduler.request_maintenance()
        assert scheduler.wait_idle(timeout=300)
    finally:
        scheduler.close()
    jobs = [status.job for status, _thread in seen if status.job]
    assert "compress" in jobs and "decay" in jobs and "indexes" in jobs
    assert any(status.job == "compress" and status.total > 0 for status, _thread in seen)
    assert {thread for status, thread in seen if status.job} == {"assistant-jobs"}
    report = scheduler.status.last_maintenance
    assert report is not None and report.compress.summaries
    assert len(assistant.engine.list(kinds=[Kind.SUMMARY])) == len(report.compress.summaries)
    assert scheduler.last_maintenance_at is not None
    assert json.loads((tmp_path / "jobs.json").read_text())["maintenance_running"] is False


def test_chat_started_during_compression_gets_the_model_first(tmp_path: Path, embedder, runner) -> None:
    assistant, _clock = make_assistant(tmp_path, embedder, runner, sessions=4)
    scheduler = Scheduler(assistant, state_path=tmp_path / "jobs.json", use_model=True, retry_seconds=0.2)
    scheduler.start()
    try:
        scheduler.request_maintenance()
        deadline = time.monotonic() + 300
        while not runner.busy:  # wait until compression is generating a summary
            assert time.monotonic() < deadline, "compression never used the model"
            time.sleep(0.01)
        pieces = list(runner.stream_chat([ChatMessage("user", "Say hello.")], max_tokens=8, temperature=0.0))
        assert "".join(pieces).strip()
        assert scheduler.status.preempted >= 1, "the summary in progress should have given way"
        scheduler.use_model = False  # finish the rest quickly: extractive summaries
        assert scheduler.wait_idle(timeout=900)
    finally:
        scheduler.close()
    report = scheduler.status.last_maintenance
    assert report is not None and report.compress.groups >= 1
    # The preempted pass ran again and finished: every summarised message is archived.
    summaries = assistant.engine.list(kinds=[Kind.SUMMARY])
    covered = {source for summary in summaries for source in summary.sources}
    for memory in assistant.engine.list(kinds=[Kind.EPISODIC]):
        assert (memory.status == Status.ARCHIVED) == bool(set(memory.sources) & covered)


def test_cancel_stops_between_steps_and_a_later_pass_finishes(tmp_path: Path, embedder, runner) -> None:
    assistant, _clock = make_assistant(tmp_path, embedder, runner, sessions=4)
    scheduler = Scheduler(assistant, state_path=tmp_path / "jobs.json", use_model=True)

    def cancel_after_first_group(status: JobStatus) -> None:
        if status.job == "compress" and status.done >= 1:
            scheduler.cancel()

    scheduler.on_progress = cancel_after_first_group
    scheduler.start()
    try:
        scheduler.request_maintenance()
        assert scheduler.wait_idle(timeout=600)
        first = scheduler.status.last_maintenance
        assert first is not None and first.compress.cancelled
        assert first.decay is None, "a cancelled pass stops before the next job"
        assert scheduler.last_maintenance_at is None
        done_so_far = len(assistant.engine.list(kinds=[Kind.SUMMARY]))
        assert 1 <= done_so_far < first.compress.groups

        scheduler.on_progress = None
        scheduler.use_model = False
        scheduler.request_maintenance()
        assert scheduler.wait_idle(timeout=600)
    finally:
        scheduler.close()
    second = scheduler.status.last_maintenance
    assert second is not None and not second.compress.cancelled
    assert len(assistant.engine.list(kinds=[Kind.SUMMARY])) == done_so_far + len(second.compress.summaries)


def test_pending_extractions_survive_a_crash(tmp_path: Path, embedder, runner) -> None:
    clock = Clock()
    engine = open_engine(tmp_path / "store", embedder, user="default", clock=clock)
    assistant = Assistant(Settings(), runner=runner, engine=engine, clock=clock)
    turn = Turn(conversation_id="c1", user_text="Remember that I am allergic to peanuts.", at=clock())
    assistant.prepare_user_message(turn)
    state = tmp_path / "jobs.json"

    crashed = Scheduler(assistant, state_path=state, use_model=False)  # never started: as if killed
    crashed.queue_learning(turn)
    assert json.loads(state.read_text())["pending"][0]["user_message_id"] == turn.user_message_id

    restarted = Scheduler(assistant, state_path=state, use_model=False)
    assert restarted.status.pending_extractions == 1
    restarted.start()
    try:
        assert restarted.wait_idle(timeout=120)
    finally:
        restarted.close()
    learned = [m for m in engine.list(statuses=[Status.ACTIVE]) if "peanut" in m.text.lower()]
    assert learned and turn.user_message_id in learned[0].sources
    assert json.loads(state.read_text())["pending"] == []


class UserTurnHolder:
    """The user's chat holding the model from its own thread, until released (as a reply in progress)."""

    def __init__(self, runner: ModelRunner) -> None:
        self.runner = runner
        self.holding = threading.Event()
        self.release = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self) -> None:
        def hold() -> None:
            with self.runner._turn(background=False):
                self.holding.set()
                self.release.wait()

        self._thread = threading.Thread(target=hold)
        self._thread.start()
        assert self.holding.wait(30)

    def give_back(self) -> None:
        self.release.set()
        assert self._thread is not None
        self._thread.join(30)


def test_queued_learning_reports_the_stated_part_first_and_one_undo_covers_everything(
    tmp_path: Path, embedder, runner
) -> None:
    clock = Clock()
    engine = open_engine(tmp_path / "store", embedder, user="default", clock=clock)
    assistant = Assistant(Settings(model_extraction=True), runner=runner, engine=engine, clock=clock)
    turn = Turn(conversation_id="c1", user_text="I am allergic to peanuts and I work as a nurse.", at=clock())
    assistant.prepare_user_message(turn)
    state = tmp_path / "jobs.json"
    user = UserTurnHolder(runner)
    stated: list = []
    learned: list = []
    preempted = threading.Event()

    def on_progress(status: JobStatus) -> None:
        if status.preempted:
            preempted.set()

    scheduler = Scheduler(
        assistant,
        state_path=state,
        use_model=True,
        retry_seconds=0,
        on_stated=stated.append,
        on_learned=learned.append,
        on_progress=on_progress,
    )
    scheduler.start()
    try:
        job = scheduler.queue_learning(turn)
        deadline = time.monotonic() + 120
        while not runner.busy:  # the model's extraction has started
            assert time.monotonic() < deadline, "the model's extraction never started"
            time.sleep(0.005)
        user.take()  # the user's next message arrives while the model reads this exchange
        assert preempted.wait(120), "the model's extraction should have given way to the user"
        assert [record["job"] for record in json.loads(state.read_text())["pending"]] == [job]
        assert learned == [], "learning is not finished while the model part waits"
        scheduler.use_model = False  # the retry leaves the model alone: the rules' part is what it learned
        user.give_back()
        assert scheduler.wait_idle(timeout=120)
    finally:
        user.release.set()
        scheduler.close()
    assert len(stated) == 1 and stated[0].job == job and not stated[0].final
    saved_first = [memory.text for memory in stated[0].report.saved]
    assert any("peanut" in text.lower() for text in saved_first), saved_first
    assert len(learned) == 1 and learned[0].final and learned[0].job == job
    assert set(stated[0].saved_ids) <= set(learned[0].saved_ids)
    assert json.loads(state.read_text())["pending"] == []
    active = [m for m in engine.list(statuses=[Status.ACTIVE]) if turn.user_message_id in m.sources]
    assert {m.id for m in active if m.kind != Kind.EPISODIC} == set(learned[0].saved_ids)

    assistant.undo_learned(list(learned[0].saved_ids))  # the one Undo of "Saved to memory: ..."
    left = {m.id for m in engine.list(statuses=[Status.ACTIVE])}
    assert not left & set(learned[0].saved_ids)


def test_wait_idle_and_close_leave_unfinished_learning_queued(tmp_path: Path, embedder, runner) -> None:
    clock = Clock()
    engine = open_engine(tmp_path / "store", embedder, user="default", clock=clock)
    assistant = Assistant(Settings(), runner=runner, engine=engine, clock=clock)
    state = tmp_path / "jobs.json"
    texts = ["I live in Porto.", "My favourite colour is green.", "I am allergic to shellfish."]
    turns = [Turn(conversation_id="c1", user_text=text, at=clock()) for text in texts]
    for turn in turns:
        assistant.prepare_user_message(turn)
    learned: list = []
    scheduler = Scheduler(assistant, state_path=state, use_model=False, on_learned=learned.append)
    scheduler.start()
    try:
        jobs = [scheduler.queue_learning(turn) for turn in turns[:2]]
        assert scheduler.wait_idle(timeout=120)
        assert [result.job for result in learned] == jobs  # on_learned has run when wait_idle returns
    finally:
        scheduler.close()
    leftover = scheduler.queue_learning(turns[2])  # after close: queued, not run
    assert scheduler.wait_idle(timeout=0) is False
    assert [record["job"] for record in json.loads(state.read_text())["pending"]] == [leftover]

    restarted = Scheduler(assistant, state_path=state, use_model=False, on_learned=learned.append)
    assert restarted.status.pending_extractions == 1
    restarted.start()
    try:
        assert restarted.wait_idle(timeout=120)
    finally:
        restarted.close()
    assert learned[-1].job == leftover and learned[-1].saved_ids
    assert json.loads(state.read_text())["pending"] == []


OWNER_PROCESS = """
import sys
from pathlib import Path
from assistant.application.job_state import JobFile
print(JobFile(Path(sys.argv[1])).claim_ownership(), flush=True)
sys.stdin.read()  # alive until the test closes stdin
"""


def test_a_live_process_keeps_its_queued_learning_and_a_dead_ones_is_taken_over(
    tmp_path: Path, embedder, runner
) -> None:
    clock = Clock()
    engine = open_engine(tmp_path / "store", embedder, user="default", clock=clock)
    assistant = Assistant(Settings(), runner=runner, engine=engine, clock=clock)
    state = tmp_path / "jobs" / "default.json"
    other = subprocess.Popen(
        [sys.executable, "-c", OWNER_PROCESS, str(state)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        owner = other.stdout.readline().strip()
        turn = Turn(conversation_id="c1", user_text="I live in Porto.", at=clock())
        assistant.prepare_user_message(turn)
        queued_elsewhere = Scheduler(assistant, state_path=state, use_model=False)
        job = queued_elsewhere.queue_learning(turn)
        record = json.loads(state.read_text())
        record["pending"][0]["owner"] = owner  # as if the other process had queued it
        state.write_text(json.dumps(record))

        scheduler = Scheduler(assistant, state_path=state, use_model=False)
        assert scheduler.status.pending_extractions == 0, "another live process's learning is not ours to run"
        scheduler.start()
        assert scheduler.wait_idle(timeout=30)
        scheduler.close()
        assert [r["job"] for r in json.loads(state.read_text())["pending"]] == [job]
    finally:
        other.stdin.close()
        other.wait(30)

    after_death = Scheduler(assistant, state_path=state, use_model=False)
    assert after_death.status.pending_extractions == 1
    after_death.start()
    try:
        assert after_death.wait_idle(timeout=120)
    finally:
        after_death.close()
    assert json.loads(state.read_text())["pending"] == []
    assert any("porto" in m.text.lower() for m in engine.list(statuses=[Status.ACTIVE]) if m.kind != Kind.EPISODIC)


def test_each_process_marks_itself_alive_and_the_next_one_sweeps_the_marks_of_ended_ones(tmp_path: Path) -> None:
    state = tmp_path / "jobs" / "default.json"
    claim_and_list = (
        "import sys; from pathlib import Path; from assistant.application.job_state import JobFile;"
        "print(JobFile(Path(sys.argv[1])).claim_ownership());"
        "print(*sorted(p.name for p in (Path(sys.argv[1]).parent / 'owners').iterdir()))"
    )
    first = subprocess.run([sys.executable, "-c", claim_and_list, str(state)], capture_output=True, text=True)
    first_owner, first_files = first.stdout.splitlines()
    assert first_files.split() == [f"{first_owner}.lock"], first.stderr
    second = subprocess.run([sys.executable, "-c", claim_and_list, str(state)], capture_output=True, text=True)
    second_owner, second_files = second.stdout.splitlines()
    assert second_owner != first_owner
    assert second_files.split() == [f"{second_owner}.lock"], "the ended process's mark should be gone"


def test_without_any_model_the_rules_still_learn(tmp_path: Path, embedder) -> None:
    clock = Clock()
    engine = open_engine(tmp_path / "store", embedder, user="default", clock=clock)
    assistant = Assistant(Settings(model="no-such-model", model_extraction=False), engine=engine, clock=clock)
    with pytest.raises(AssistantError):
        assistant.runner  # noqa: B018 - opening it is what fails
    turn = Turn(conversation_id="c1", user_text="I am allergic to sesame.", at=clock())
    assistant.prepare_user_message(turn)
    learned: list = []
    scheduler = Scheduler(assistant, state_path=tmp_path / "jobs.json", on_learned=learned.append)
    scheduler.start()
    try:
        scheduler.queue_learning(turn)
        assert scheduler.wait_idle(timeout=120)
    finally:
        scheduler.close()
    assert learned and learned[0].report.error is None
    assert any("sesame" in memory.text.lower() for memory in learned[0].report.saved)
