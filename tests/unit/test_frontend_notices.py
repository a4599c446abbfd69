"""The service hands each front end the learning of its own turns, whichever comes first: the result or the claim."""

from __future__ import annotations

import threading
import time

from assistant.application.turn import LearnReport, Turn
from assistant.application.views import LearningResult
from assistant.service.frontend_ops import UNCLAIMED_JOBS_KEPT, Notices


def result(job: str, *, final: bool) -> LearningResult:
    return LearningResult(job=job, turn=Turn(conversation_id="c", user_text="hi"), report=LearnReport(), final=final)


def test_a_result_reported_before_its_job_was_claimed_reaches_the_session_that_claims_it() -> None:
    notices = Notices()
    notices.deliver(result("early", final=False))  # the rules were quicker than the claim
    notices.claim("early", "tui")
    notices.deliver(result("early", final=True))
    assert [(r.job, r.final) for r in notices.collect("tui", timeout=0)] == [("early", False), ("early", True)]
    assert notices.collect("tui", timeout=0) == []


def test_each_session_gets_only_its_own_jobs_and_a_commands_job_goes_to_nobody() -> None:
    notices = Notices()
    notices.claim("mine", "tui")
    notices.claim("theirs", "other-tui")
    for job in ("mine", "theirs", "a-command's"):
        notices.deliver(result(job, final=True))
    assert [r.job for r in notices.collect("tui", timeout=0)] == ["mine"]
    assert [r.job for r in notices.collect("other-tui", timeout=0)] == ["theirs"]
    for number in range(UNCLAIMED_JOBS_KEPT + 10):  # unclaimed results are kept for a while, not forever
        notices.deliver(result(f"command-{number}", final=True))
    assert len(notices._unclaimed) == UNCLAIMED_JOBS_KEPT


def test_a_waiting_session_wakes_when_its_result_arrives() -> None:
    notices = Notices()
    notices.claim("job", "tui")
    threading.Timer(0.2, notices.deliver, args=(result("job", final=True),)).start()
    started = time.monotonic()
    collected = notices.collect("tui", timeout=5)
    assert [r.job for r in collected] == ["job"] and time.monotonic() - started < 2
    started = time.monotonic()
    assert notices.collect("tui", timeout=0.3) == [] and time.monotonic() - started >= 0.3


def test_learning_a_restarted_service_took_is_ended_for_the_tui_not_left_running() -> None:
    from assistant.service.remote_jobs import SERVICE_RESTARTED, RemoteJobs

    heard: list[LearningResult] = []
    jobs = RemoteJobs(object(), on_learned=heard.append)  # type: ignore[arg-type]
    turn = Turn(conversation_id="c", user_text="I live in Porto")
    jobs._outstanding = {"taken-by-the-old-one": (turn, 100), "taken-by-this-one": (turn, 200)}
    jobs._end_lost_jobs(200)  # the service now answering is pid 200
    assert [(r.job, r.final, r.report.notices) for r in heard] == [("taken-by-the-old-one", True, [SERVICE_RESTARTED])]
    assert list(jobs._outstanding) == ["taken-by-this-one"]
