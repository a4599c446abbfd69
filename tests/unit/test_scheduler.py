"""The scheduler: jobs off the caller's thread, the user's chat first, cancel, progress, persisted state."""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from memory_helpers import Clock, open_engine

from assistant.application.session import Assistant, Turn
from assistant.config import Settings
from assistant.llm.runner import ChatMessage, ModelRunner
from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.types import Kind, Status
from assistant.scheduler import JobStatus, Scheduler

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
        scheduler.stop()
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
        scheduler.stop()
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
        scheduler.stop()
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
    crashed.submit_turn(turn)
    assert json.loads(state.read_text())["pending"][0]["user_message_id"] == turn.user_message_id

    restarted = Scheduler(assistant, state_path=state, use_model=False)
    assert restarted.status.pending_extractions == 1
    restarted.start()
    try:
        assert restarted.wait_idle(timeout=120)
    finally:
        restarted.stop()
    learned = [m for m in engine.list(statuses=[Status.ACTIVE]) if "peanut" in m.text.lower()]
    assert learned and turn.user_message_id in learned[0].sources
    assert json.loads(state.read_text())["pending"] == []
