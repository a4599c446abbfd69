"""Writes the export fixtures in this folder (run it after changing them; the files are committed).

They follow the shapes real exports have (checked against public parsers of both formats):
ChatGPT's `mapping` trees with a hidden system node, hidden custom instructions, an edited
message (two branches; `current_node` ends the kept one), a browsing tool call and its output,
an image part; Claude's `chat_messages` with content blocks, tool use, an attachment's
extracted text and an older message that has only `text`.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
T1 = 1677672000.0  # 2023-03-01 12:00 UTC
T2 = 1718020800.0  # 2024-06-10 12:00 UTC


def node(node_id, parent, children, role=None, parts=None, *, t=None, content_type="text", **extra):
    message = None
    if role is not None:
        message = {
            "id": node_id,
            "author": {"role": role, "name": extra.pop("author_name", None), "metadata": {}},
            "create_time": t,
            "update_time": None,
            "content": {"content_type": content_type, "parts": parts} if parts is not None else extra.pop("content"),
            "status": "finished_successfully",
            "end_turn": role == "assistant" or None,
            "weight": 1.0,
            "metadata": extra.pop("metadata", {}),
            "recipient": extra.pop("recipient", "all"),
        }
    return node_id, {"id": node_id, "message": message, "parent": parent, "children": children}


def chatgpt_porto() -> dict:
    nodes = dict(
        [
            node("aaa1-root", None, ["aaa2-system"]),
            node(
                "aaa2-system",
                "aaa1-root",
                ["aaa3-context"],
                "system",
                [""],
                metadata={"is_visually_hidden_from_conversation": True},
            ),
            node(
                "aaa3-context",
                "aaa2-system",
                ["aaa4-user"],
                "user",
                None,
                t=T1,
                content={
                    "content_type": "user_editable_context",
                    "user_profile": "I am a developer",
                    "user_instructions": "Be brief",
                },
                metadata={"is_visually_hidden_from_conversation": True, "is_user_system_message": True},
            ),
            node(
                "aaa4-user",
                "aaa3-context",
                ["aaa5-assistant"],
                "user",
                ["Hi! My name is Dana and I live in Porto."],
                t=T1 + 10,
            ),
            node(
                "aaa5-assistant",
                "aaa4-user",
                ["aaa6-edited", "aaa8-kept"],
                "assistant",
                ["Nice to meet you, Dana! Porto is lovely."],
                t=T1 + 20,
            ),
            # The user edited their next message: the first version and its answer are an abandoned branch.
            node("aaa6-edited", "aaa5-assistant", ["aaa7-abandoned"], "user", ["I work at Acme."], t=T1 + 30),
            node("aaa7-abandoned", "aaa6-edited", [], "assistant", ["Acme, great."], t=T1 + 40),
            node(
                "aaa8-kept",
                "aaa5-assistant",
                ["aaa9-call"],
                "user",
                ["I work at Globex as an engineer. What's new at Globex?"],
                t=T1 + 50,
            ),
            node(
                "aaa9-call",
                "aaa8-kept",
                ["aab0-tool"],
                "assistant",
                None,
                t=T1 + 55,
                recipient="browser",
                content={"content_type": "code", "language": "unknown", "text": 'search("Globex news")'},
            ),
            node(
                "aab0-tool",
                "aaa9-call",
                ["aab1-answer"],
                "tool",
                None,
                t=T1 + 58,
                author_name="browser",
                content={
                    "content_type": "tether_browsing_display",
                    "result": "Globex opens a Porto office",
                    "summary": None,
                },
            ),
            node(
                "aab1-answer",
                "aab0-tool",
                ["aab2-image"],
                "assistant",
                ["Globex just opened an office in Porto."],
                t=T1 + 60,
            ),
            node(
                "aab2-image",
                "aab1-answer",
                ["aab3-answer"],
                "user",
                [
                    {
                        "content_type": "image_asset_pointer",
                        "asset_pointer": "file-service://file-XYZ",
                        "size_bytes": 1024,
                        "width": 64,
                        "height": 64,
                    },
                    "Here is my desk.",
                ],
                t=T1 + 70,
                content_type="multimodal_text",
            ),
            node("aab3-answer", "aab2-image", [], "assistant", ["A tidy desk!"], t=T1 + 80),
        ]
    )
    return {
        "title": "Meeting Dana",
        "create_time": T1,
        "update_time": T1 + 80,
        "mapping": nodes,
        "moderation_results": [],
        "current_node": "aab3-answer",
        "plugin_ids": None,
        "conversation_id": "6f0c9a34-1111-4c1e-9d3e-000000000001",
        "conversation_template_id": None,
        "gizmo_id": None,
        "is_archived": False,
        "safe_urls": [],
        "default_model_slug": "gpt-4o",
        "id": "6f0c9a34-1111-4c1e-9d3e-000000000001",
    }


def chatgpt_lisbon() -> dict:
    nodes = dict(
        [
            node("bbb1-root", None, ["bbb2-system"]),
            node(
                "bbb2-system",
                "bbb1-root",
                ["bbb3-user"],
                "system",
                [""],
                metadata={"is_visually_hidden_from_conversation": True},
            ),
            node(
                "bbb3-user",
                "bbb2-system",
                ["bbb4-assistant"],
                "user",
                ["I moved to Lisbon last month. Any tips for the trams?"],
                t=T2 + 5,
            ),
            node("bbb4-assistant", "bbb3-user", [], "assistant", ["Take the 28 early in the morning."], t=T2 + 15),
        ]
    )
    return {
        "title": "Lisbon trams",
        "create_time": T2,
        "update_time": T2 + 15,
        "mapping": nodes,
        "current_node": "bbb4-assistant",
        "conversation_id": "6f0c9a34-2222-4c1e-9d3e-000000000002",
        "id": "6f0c9a34-2222-4c1e-9d3e-000000000002",
        "is_archived": False,
        "safe_urls": [],
    }


def claude_conversations() -> list:
    return [
        {
            "uuid": "c1a0de00-aaaa-4bbb-8ccc-000000000001",
            "name": "Colours for the flat",
            "created_at": "2024-08-01T09:00:00.000000Z",
            "updated_at": "2024-08-01T09:05:00.000000Z",
            "account": {"uuid": "acc-1"},
            "chat_messages": [
                {
                    "uuid": "m-0001",
                    "text": "My favourite colour is green. Here are the paint notes.",
                    "content": [
                        {
                            "start_timestamp": "2024-08-01T09:00:01Z",
                            "stop_timestamp": "2024-08-01T09:00:01Z",
                            "type": "text",
                            "text": "My favourite colour is green. Here are the paint notes.",
                            "citations": [],
                        }
                    ],
                    "sender": "human",
                    "created_at": "2024-08-01T09:00:01.000000Z",
                    "updated_at": "2024-08-01T09:00:01.000000Z",
                    "attachments": [
                        {
                            "file_name": "paint.txt",
                            "file_size": 52,
                            "file_type": "txt",
                            "extracted_content": "Landlord notes\nMy name is Mallory\nUse eggshell finish",
                        }
                    ],
                    "files": [],
                },
                {
                    "uuid": "m-0002",
                    "text": "",
                    "content": [
                        {"type": "text", "text": "Green works well with oak.", "citations": []},
                        {"type": "tool_use", "name": "web_search", "input": {"query": "green paint oak"}},
                        {"type": "tool_result", "name": "web_search", "content": [{"type": "text", "text": "results"}]},
                        {"type": "text", "text": "Try a sage green.", "citations": []},
                    ],
                    "sender": "assistant",
                    "created_at": "2024-08-01T09:00:09.000000Z",
                    "updated_at": "2024-08-01T09:00:09.000000Z",
                    "attachments": [],
                    "files": [],
                },
            ],
        },
        {
            "uuid": "c1a0de00-aaaa-4bbb-8ccc-000000000002",
            "name": "",
            "created_at": "2024-09-15T18:30:00.000000Z",
            "updated_at": "2024-09-15T18:31:00.000000Z",
            "chat_messages": [
                # An older export's message: only `text`, no content blocks.
                {
                    "uuid": "m-0003",
                    "text": "Actually my favorite color is blue these days.",
                    "sender": "human",
                    "created_at": "2024-09-15T18:30:05.000000Z",
                    "attachments": [],
                    "files": [],
                },
                {
                    "uuid": "m-0004",
                    "text": "Blue it is.",
                    "sender": "assistant",
                    "created_at": "2024-09-15T18:30:20.000000Z",
                    "attachments": [],
                    "files": [],
                },
            ],
        },
    ]


def write(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    # ChatGPT lists the most recently updated conversation first.
    write(HERE / "chatgpt_export" / "conversations.json", [chatgpt_lisbon(), chatgpt_porto()])
    write(HERE / "chatgpt_export" / "user.json", {"id": "user-abc", "email": "dana@example.com"})
    write(HERE / "chatgpt_sharded" / "conversations-000.json", [chatgpt_lisbon()])
    write(HERE / "chatgpt_sharded" / "conversations-001.json", [chatgpt_porto()])
    write(
        HERE / "chatgpt_sharded" / "export_manifest.json",
        {"files": ["conversations-000.json", "conversations-001.json"]},
    )
    write(HERE / "claude_export" / "conversations.json", claude_conversations())
    write(HERE / "claude_export" / "users.json", [{"uuid": "acc-1", "full_name": "Dana"}])
