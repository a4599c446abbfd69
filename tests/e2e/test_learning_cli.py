"""The user trial of issue 17 on the CLI, each step in a fresh `assistant` process with the real
starter model, embedder and LanceDB: a paraphrased allergy is one saved fact, in a new
conversation's context, and a retraction that names it only as "the peanut thing" ends it;
a move and a message in Portuguese are saved."""

from __future__ import annotations

import json

import pytest

# The rules carry these facts; the model's slower pass is covered in tests/unit/test_extract_model.py.
FAST = {"ASSISTANT_MAX_REPLY_TOKENS": "16", "ASSISTANT_TEMPERATURE": "0", "ASSISTANT_MODEL_EXTRACTION": "false"}


def chat(cli, *args: str):
    result = cli("chat", *args, env=FAST)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result


def active(cli) -> list[str]:
    result = cli("memory", "list", "--json")
    assert result.returncode == 0, result.stderr
    return [m["text"] for m in json.loads(result.stdout) if m["kind"] != "episodic" and m["status"] == "active"]


@pytest.mark.slow
def test_a_paraphrased_allergy_is_saved_in_context_and_retracted(cli):
    told = chat(cli, "Oh and peanuts… they make my throat swell up. So no peanuts please!")
    assert "Saved to memory: You are allergic to peanuts" in told.stderr
    later = chat(cli, "--new", "--show-context", "Any ideas for a snack?")
    assert "User is allergic to peanuts" in later.stdout.split("--- context:", 1)[1]
    ended = chat(cli, "--new", "Never mind the peanut thing… I'm not allergic after all")
    assert "No longer true: You are allergic to peanuts" in ended.stderr
    assert not any("peanut" in text for text in active(cli))
    after = chat(cli, "--new", "--show-context", "Any ideas for a snack?")
    assert "allergic to peanuts" not in after.stdout.split("--- context:", 1)[1]


@pytest.mark.slow
def test_a_move_and_a_portuguese_message_are_saved(cli):
    chat(cli, "Moro em Lisboa e sou alérgica a amendoim")
    assert {"User lives in Lisboa", "User is allergic to amendoim"} <= set(active(cli))
    moved = chat(cli, "--new", "we're in Coimbra now")
    assert "Saved to memory: You live in Coimbra (replaces: You live in Lisboa)" in moved.stderr
