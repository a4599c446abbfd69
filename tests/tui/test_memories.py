"""Memory browser flows on the fake core: browse, filter, search, edit, pin, archive/restore, forget, profile, rules."""

from __future__ import annotations

from fakes import seeded_assistant
from pilot_helpers import settle
from textual.widgets import DataTable, Input, Select, TextArea

from assistant.memory.types import Kind, Status
from assistant.tui.messages import MemoriesChanged
from assistant.tui.screens.memories import MemoryScreen
from assistant.tui.widgets.transcript import UserMessage


def table_ids(app) -> list[str]:
    table = app.screen.query_one("#memory-table", DataTable)
    return [key.value for key in table.rows]


async def open_panel(app, pilot) -> MemoryScreen:
    await settle(app, pilot)
    await pilot.press("f2")
    await settle(app, pilot)
    assert isinstance(app.screen, MemoryScreen)
    return app.screen


async def test_browse_filter_sort_and_detail(make_app) -> None:
    fake = seeded_assistant()
    app = make_app(fake)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_panel(app, pilot)
        active = {m.id for m in fake.engine.list(statuses=[Status.ACTIVE])}
        assert set(table_ids(app)) == active and len(active) == 4
        # detail of the highlighted row shows its sources and history
        first = fake.engine.get(table_ids(app)[0])
        assert screen.detail is not None and screen.detail.memory.id == first.id
        # status filter: superseded
        screen.query_one("#filter-status", Select).value = "superseded"
        await settle(app, pilot)
        [superseded] = table_ids(app)
        assert fake.engine.get(superseded).text == "User lives in Porto"
        # kind filter: rules only, any status
        screen.query_one("#filter-status", Select).value = ""
        screen.query_one("#filter-kind", Select).value = "procedural"
        await settle(app, pilot)
        assert [fake.engine.get(i).kind for i in table_ids(app)] == [Kind.PROCEDURAL]
        # sort by use
        screen.query_one("#filter-kind", Select).value = ""
        fake.engine.get(superseded).access_count = 9
        screen.query_one("#sort", Select).value = "use"
        await settle(app, pilot)
        assert table_ids(app)[0] == superseded


async def test_search_uses_recall_and_source_jumps_to_message(make_app) -> None:
    fake = seeded_assistant()
    app = make_app(fake)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_panel(app, pilot)
        screen.query_one("#memory-search", Input).focus()
        await pilot.press(*"shellfish", "enter")
        await settle(app, pilot)
        ids = table_ids(app)
        assert [fake.engine.get(i).text for i in ids] == ["User is allergic to shellfish"]
        assert "recalled" in str(screen.query_one("#memory-count").render())
        detail = screen.detail
        assert detail is not None and [m.id for m in detail.sources] == ["msg-seed-1"]
        sources = screen.query_one("#detail-sources")
        sources.focus()
        sources.index = 0
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, MemoryScreen)
        assert app.conversation_id == detail.sources[0].conversation_id
        jumped = [v for v in app.query(UserMessage) if v.has_class("-jumped")]
        assert [v.message_id for v in jumped] == ["msg-seed-1"]


async def test_edit_pin_archive_restore_forget(make_app) -> None:
    fake = seeded_assistant()
    app = make_app(fake)
    changes = []
    async with app.run_test(size=(140, 40), message_hook=lambda m: changes.append(m)) as pilot:
        screen = await open_panel(app, pilot)
        target = next(m for m in fake.engine.list() if m.text == "User lives in Lisbon")
        table = screen.query_one("#memory-table", DataTable)
        table.move_cursor(row=table.get_row_index(target.id))
        await settle(app, pilot)
        assert screen.detail.memory.id == target.id
        # edit
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one(TextArea).load_text("User lives in Lisbon, Portugal")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert fake.engine.get(target.id).text == "User lives in Lisbon, Portugal"
        assert [e.action for e in fake.engine.audit(target.id)][-1] == "update"
        # pin
        await pilot.press("p")
        await settle(app, pilot)
        assert fake.engine.get(target.id).pinned
        # archive, then find it under "archived" and restore it
        await pilot.press("a")
        await settle(app, pilot)
        assert fake.engine.get(target.id).status == Status.ARCHIVED
        assert target.id not in table_ids(app)
        screen.query_one("#filter-status", Select).value = "archived"
        await settle(app, pilot)
        assert table_ids(app) == [target.id]
        await pilot.press("a")
        await settle(app, pilot)
        assert fake.engine.get(target.id).status == Status.ACTIVE
        # forget asks first; cancel keeps it, confirm erases it
        screen.query_one("#filter-status", Select).value = "active"
        await settle(app, pilot)
        table.move_cursor(row=table.get_row_index(target.id))
        await settle(app, pilot)
        await pilot.press("x")
        await pilot.pause()
        await pilot.click("#cancel")
        await settle(app, pilot)
        assert fake.engine.get(target.id) is not None
        await pilot.press("x")
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(app, pilot)
        assert fake.engine.get(target.id) is None
        assert target.id not in table_ids(app)
        assert sum(isinstance(m, MemoriesChanged) for m in changes) >= 5


async def test_profile_rules_export_and_forget_everything(make_app, tmp_path) -> None:
    fake = seeded_assistant()
    app = make_app(fake)
    async with app.run_test(size=(140, 40)) as pilot:
        await open_panel(app, pilot)
        await pilot.press("ctrl+o")
        await settle(app, pilot)
        area = app.screen.query_one(TextArea)
        assert set(area.text.splitlines()) == {"User is allergic to shellfish", "User prefers short answers"}
        area.load_text("User is allergic to shellfish\nUser likes detailed answers")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert {m.text for m in fake.profile_memories()} == {
            "User is allergic to shellfish",
            "User likes detailed answers",
        }
        assert [m.status for m in fake.engine.list() if m.text == "User prefers short answers"] == [Status.ARCHIVED]
        await pilot.press("ctrl+l")
        await settle(app, pilot)
        area = app.screen.query_one(TextArea)
        assert area.text == "Always ask before booking anything"
        area.load_text("Answer in English\n")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        rules = fake.engine.list(kinds=[Kind.PROCEDURAL])
        assert {(r.text, r.status) for r in rules} == {
            ("Always ask before booking anything", Status.ARCHIVED),
            ("Answer in English", Status.ACTIVE),
        }
        await pilot.press("ctrl+e")
        await pilot.pause()
        target = tmp_path / "out" / "export.jsonl"
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await settle(app, pilot)
        assert fake.engine.exported_to == target and target.exists()
        # forget everything needs the typed word
        await pilot.press("ctrl+x")
        await pilot.pause()
        app.screen.query_one(Input).value = "yes"
        await pilot.press("enter")
        await settle(app, pilot)
        assert fake.engine.memories
        await pilot.press("ctrl+x")
        await pilot.pause()
        app.screen.query_one(Input).value = "DELETE"
        await pilot.press("enter")
        await settle(app, pilot)
        assert fake.engine.memories == {} and fake.profile_memories() == []
        assert table_ids(app) == []
