"""The fake core and the real front end both keep to the protocol the TUI is written against."""

from __future__ import annotations

import inspect

import pytest
from fakes import FakeAssistant

from assistant.application import protocol
from assistant.application.frontend import AssistantFrontend
from assistant.application.protocol import FrontendCore
from assistant.service.remote_frontend import RemoteFrontend


def protocol_members() -> dict[str, object]:
    """Every member the protocol names, from FrontendCore and the parts it is made of."""
    members: dict[str, object] = {}
    for part in reversed(FrontendCore.__mro__):
        if part.__module__ == protocol.__name__:
            members.update({name: value for name, value in vars(part).items() if not name.startswith("_")})
    return members


def without_annotations(signature: inspect.Signature) -> inspect.Signature:
    parameters = [parameter.replace(annotation=inspect.Parameter.empty) for parameter in signature.parameters.values()]
    return signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty)


METHODS = sorted(name for name, member in protocol_members().items() if inspect.isfunction(member))
PROPERTIES = sorted(name for name, member in protocol_members().items() if isinstance(member, property))


def test_the_protocol_names_the_whole_surface() -> None:
    assert {"stream_reply", "learn", "find_memories", "forget_everything", "maintenance_jobs", "close"} <= set(METHODS)
    assert PROPERTIES == ["last_turn", "settings", "user"]


@pytest.mark.parametrize("name", METHODS)
def test_the_real_front_end_has_each_method_exactly_as_the_protocol_says(name: str) -> None:
    expected = inspect.signature(protocol_members()[name])  # type: ignore[arg-type]
    assert inspect.signature(getattr(AssistantFrontend, name)) == expected


@pytest.mark.parametrize("name", METHODS)
def test_the_service_backed_front_end_has_each_method_exactly_as_the_protocol_says(name: str) -> None:
    expected = inspect.signature(protocol_members()[name])  # type: ignore[arg-type]
    assert inspect.signature(getattr(RemoteFrontend, name)) == expected


@pytest.mark.parametrize("name", METHODS)
def test_the_fake_has_each_method_with_the_protocols_parameters(name: str) -> None:
    # The fake returns its own turn and report types, so only the annotations may differ.
    expected = without_annotations(inspect.signature(protocol_members()[name]))  # type: ignore[arg-type]
    assert without_annotations(inspect.signature(getattr(FakeAssistant, name))) == expected


@pytest.mark.parametrize("name", PROPERTIES)
def test_both_have_each_property(name: str) -> None:
    assert isinstance(getattr(AssistantFrontend, name), property)
    assert isinstance(getattr(RemoteFrontend, name), property)
    assert hasattr(FakeAssistant(), name)


def test_nothing_else_of_the_fake_is_called_by_the_tui() -> None:
    """Public members of the fake beyond the protocol are test helpers; the app must not need them."""
    import ast
    from pathlib import Path

    import assistant.tui

    called: set[str] = set()
    for path in Path(assistant.tui.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
                if node.value.attr in {"assistant", "memories"}:
                    called.add(node.attr)
    assert called <= set(protocol_members())
