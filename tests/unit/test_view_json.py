"""The front end's views cross the service's socket unchanged: to_json, the wire, from_json give back an equal value."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from assistant.application.context import ContextTrace, TraceMemory, TraceSection
from assistant.application.turn import LearnReport, Turn
from assistant.application.views import JobStatus, LearningResult, MemoryDetail, MemoryRow, TextChanges
from assistant.llm.runner import GenerationStats
from assistant.memory.types import AuditEntry, Conversation, Kind, Memory, Message, Origin, Role, Status
from assistant.service.view_json import from_json, job_status_from_json, job_status_to_json, to_json

AT = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def over_the_wire(value: object) -> object:
    return json.loads(json.dumps(to_json(value), ensure_ascii=False))


def a_memory(**changes: object) -> Memory:
    fields: dict[str, object] = {
        "user": "ana",
        "kind": Kind.SEMANTIC,
        "text": "Ana is allergic to peanuts — “severely”",
        "key": "allergy.peanuts",
        "created_at": AT,
        "updated_at": AT + timedelta(days=1),
        "last_accessed": datetime(2026, 3, 4, 5, 6, 7),  # naive, as LanceDB hands some back
        "access_count": 3,
        "importance": 0.9,
        "strength": 0.25,
        "status": Status.SUPERSEDED,
        "pinned": True,
        "origin": Origin.EXPLICIT,
        "sources": ["m1", "m2"],
        "superseded_by": "x",
    }
    fields.update(changes)
    return Memory(**fields)  # type: ignore[arg-type]


def a_turn() -> Turn:
    trace = ContextTrace(
        sections=[TraceSection("system", "You are…", 12), TraceSection("memories", "- peanuts", 4)],
        memories=[TraceMemory("id1", "semantic", "peanuts", 0.875, "memories", ["m1"])],
        total_tokens=16,
        budget=2048,
        history_turns=2,
        window_start_id="m0",
        memory_block="<memory>…</memory>",
        profile_ids=["p1"],
    )
    stats = GenerationStats(prompt_tokens=16, completion_tokens=5, started=1.5, first_token_at=1.75, finished_at=2.0)
    return Turn(
        conversation_id="c1",
        user_text="I am allergic to peanuts",
        user_message_id="u1",
        assistant_message_id="a1",
        reply="Noted.",
        trace=trace,
        stats=stats,
        notices=["Saved to memory: peanuts"],
        is_command=False,
        incognito=False,
        used_memory=True,
        stopped=True,
        at=AT,
        saved_ids=["s1"],
    )


def test_every_view_the_tui_reads_comes_back_equal() -> None:
    memory = a_memory()
    message = Message(user="ana", role=Role.ASSISTANT, content="hi\nthere", conversation_id="c1", created_at=AT)
    cases: list[tuple[object, object]] = [
        (Memory, memory),
        (Memory, a_memory(kind=Kind.EPISODIC, speaker="user", conversation_id="c1", context="user: hi", key=None)),
        (list[Conversation], [Conversation(user="ana", title="Peanuts", created_at=AT, updated_at=AT)]),
        (list[Message], [message]),
        (list[MemoryRow], [MemoryRow(memory, 0.5), MemoryRow(a_memory(id="other"))]),
        (MemoryDetail, MemoryDetail(memory, [message], [AuditEntry("ana", memory.id, "pin", "panel", at=AT)])),
        (MemoryDetail | None, None),
        (TextChanges, TextChanges(2, 1)),
        (Turn, a_turn()),
        (ContextTrace, a_turn().trace),
        (LearnReport, LearnReport(saved=[memory], superseded=[a_memory(id="old")], notices=["n"], error="e")),
        (dict[str, int], {"memories": 3, "messages": 10}),
    ]
    for kind, value in cases:
        assert from_json(kind, over_the_wire(value)) == value, kind


def test_a_learning_result_and_the_job_status_come_back_equal() -> None:
    result = LearningResult(
        job="j1", turn=a_turn(), report=LearnReport(saved=[a_memory()]), final=True, saved_ids=("a", "b")
    )
    assert from_json(LearningResult, over_the_wire(result)) == result
    status = JobStatus(job="extract", done=1, total=3, pending_extractions=2, preempted=1, last_error="slow")
    assert job_status_from_json(json.loads(json.dumps(job_status_to_json(status)))) == status


def test_the_turns_speed_survives_the_trip() -> None:
    turn = from_json(Turn, over_the_wire(a_turn()))
    assert turn.stats is not None and turn.stats.tokens_per_second == a_turn().stats.tokens_per_second == 16.0  # type: ignore[union-attr]
