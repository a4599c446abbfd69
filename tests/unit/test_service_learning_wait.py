"""In the service, the model's learning pass waits until no request is being answered (and a grace after).

The backend is driven in-process through the same `handle` a socket request goes through
(real model, embedder and LanceDB), so a test can hold a request open by not returning from
its `send`: the client is still reading its reply.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from assistant.application.turn import Turn
from assistant.config import load_settings
from assistant.service import handlers
from assistant.service.activity import QUIET_GRACE_SECONDS, RequestActivity
from assistant.service.handlers import Backend

# The rules read no fact in it, the starter model reads a home in it (test_learning_order.py).
MESSAGE = "Lisboa é a minha casa há dez anos e adoro os velhos elétricos."


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_quiet_only_once_no_request_was_answered_for_the_grace() -> None:
    clock = Ticks()
    activity = RequestActivity(grace_seconds=0.5, clock=clock)
    assert activity.seconds_until_quiet() == 0.0, "a new service is quiet"
    with activity.answering():
        clock.now += 10
        assert activity.seconds_until_quiet() > 0, "never quiet while a request is answered"
        with activity.answering():
            pass
        assert activity.seconds_until_quiet() > 0, "one of two requests ended: still answering"
    assert activity.seconds_until_quiet() == 0.5
    clock.now += 0.25
    assert activity.seconds_until_quiet() == 0.25
    clock.now += 0.25
    assert activity.seconds_until_quiet() == 0.0


def _backend(**settings: Any) -> Backend:
    return Backend(load_settings(max_reply_tokens=24, seed=3, temperature=0.0, service_warm_up=False, **settings))


@pytest.fixture
def backend():
    backend = _backend()
    yield backend
    backend.close()


def _memory_count(backend: Backend) -> int:
    (space,) = backend.open_spaces()
    return len(space.assistant.engine.list())


def test_the_models_pass_waits_for_the_reply_to_be_read_then_runs_and_saves_what_it_found(backend: Backend) -> None:
    read = threading.Event()  # the client has read its last event
    done_sent = threading.Event()
    events: list[dict[str, Any]] = []

    def slow_reader(event: dict[str, Any]) -> None:
        events.append(event)
        if event["event"] == "done":
            done_sent.set()
            assert read.wait(30)

    chat = threading.Thread(
        target=backend.handle, args=({"op": "chat", "text": MESSAGE, "new": True}, slow_reader), daemon=True
    )
    chat.start()
    assert done_sent.wait(300), events
    (space,) = backend.open_spaces()
    runner = space.assistant.runner
    stated_count = _memory_count(backend)
    assert space.jobs.status.pending_extractions == 1, "the rules are done, the model's pass is queued"

    # The request is still being answered: the model's pass must not start, however long.
    held_until = time.monotonic() + 3
    while time.monotonic() < held_until:
        assert not runner.busy and space.jobs.status.job != "extract", "the model's pass started mid-request"
        time.sleep(0.01)

    # A front end's long poll is no request anybody waits on: it does not hold the pass back.
    session = "test-session"
    poll = threading.Thread(
        target=backend.handle,
        args=({"op": "frontend.learning.wait", "session": session, "timeout": 5.0}, lambda _event: None),
        daemon=True,
    )
    poll.start()
    read.set()
    chat.join(10)
    answered_at = time.monotonic()
    started_at = None
    deadline = answered_at + 120
    while space.jobs.status.pending_extractions:
        if started_at is None and (runner.busy or space.jobs.status.job == "extract"):
            started_at = time.monotonic()
        assert time.monotonic() < deadline, "the model's pass never ran"
        time.sleep(0.005)
    assert started_at is not None, "the model's pass was never seen running"
    assert started_at - answered_at >= QUIET_GRACE_SECONDS - 0.02, "it started within the grace"
    assert started_at - answered_at < QUIET_GRACE_SECONDS + 5, "a long poll held it back"
    assert space.jobs.wait_idle(timeout=60)
    assert _memory_count(backend) > stated_count, "what the model's pass found was saved"
    poll.join(10)


def test_finished_learning_nobody_collected_is_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers, "LEARNED_KEPT_SECONDS", 0.0)
    backend = _backend(model_extraction=False)  # the rules alone: quick
    try:
        space = backend.space(None)
        assistant = space.assistant

        def turn(text: str) -> Turn:
            said = Turn(conversation_id="c1", user_text=text, reply="Noted.", at=assistant.clock())
            assistant.prepare_user_message(said)
            return said

        left = space.jobs.queue_learning(turn("I am allergic to peanuts."))  # its client left: nobody collects it
        assert space.jobs.wait_idle(timeout=120)
        assert left in space._learned
        time.sleep(0.01)
        waited = space.jobs.queue_learning(turn("I live in Lisbon."))
        notices = space.wait_learned(waited)
        assert any("Lisbon" in notice for notice in notices), notices
        assert space._learned == {}, "a finished turn's notices nobody came for are kept forever"
    finally:
        backend.close()
