"""Secrets are redacted before anything is stored; ordinary numbers are left alone."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.memory.redact import (
    ACCOUNT,
    API_KEY,
    CARD,
    IBAN,
    PASSWORD,
    PRIVATE_KEY,
    ROUTING,
    SSN,
    iban_valid,
    luhn_valid,
    notice,
    redact,
)

SECRETS: list[tuple[str, str, str]] = [
    # (message, the secret that must disappear, kind)
    ("my password is hunter2", "hunter2", PASSWORD),
    ("My Password is: Tr0ub4dor&3!", "Tr0ub4dor&3", PASSWORD),
    ("pw: s3cr3t-value", "s3cr3t-value", PASSWORD),
    ("the passcode = 991827", "991827", PASSWORD),
    ("my password for gmail is 'correct horse battery staple'", "correct horse battery", PASSWORD),
    ("My PIN is 4821", "4821", PASSWORD),
    ("my api key is sk-proj-a1B2c3D4e5F6g7H8i9J0kLmN", "sk-proj-a1B2c3D4e5F6g7H8i9J0kLmN", API_KEY),
    ("use ghp_16C7e42F292c6912E7710c838347Ae178B4a please", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", API_KEY),
    ("AWS key AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", API_KEY),
    ("slack token xoxb-123456789012-abcdefABCDEF", "xoxb-123456789012-abcdefABCDEF", API_KEY),
    ("Authorization: Bearer eyJhbGciOi.eyJzdWIiOiIx.SflKxwRJSMeKKF2QT4", "eyJhbGciOi", API_KEY),
    ("the api token is 8f14e45fceea167a5a36dedd4bea2543", "8f14e45fceea167a5a36dedd4bea2543", API_KEY),
    ("secret: Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg==", "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg", API_KEY),
    ("my card is 4111 1111 1111 1111, exp 12/27", "4111 1111 1111 1111", CARD),
    ("card number 5500-0000-0000-0004", "5500-0000-0000-0004", CARD),
    ("pay with 378282246310005", "378282246310005", CARD),
    ("my IBAN is GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 32", IBAN),
    ("send it to DE89370400440532013000 today", "DE89370400440532013000", IBAN),
    ("my SSN is 123-45-6789", "123-45-6789", SSN),
    ("social security number: 123 45 6789", "123 45 6789", SSN),
    ("my bank account number is 12345678", "12345678", ACCOUNT),
    ("acct #: 00123456789", "00123456789", ACCOUNT),
    ("routing number 021000021", "021000021", ROUTING),
    ("sort code 12-34-56", "12-34-56", ROUTING),
    (
        "here it is\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n"
        "-----END OPENSSH PRIVATE KEY-----\nthanks",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU",
        PRIVATE_KEY,
    ),
]

KEPT = [
    "I was born in 1990 and moved in 2015",
    "It costs $1,299.99 or €45.50",
    "Call me on +1 (555) 123-4567 or 555-123-4567",
    "my number is +44 20 7946 0958",
    "The meeting is on 2024-03-15 at 14:30",
    "I ran 10,000 meters in 45 minutes",
    "order 4111 1111 1111 1112 failed",  # not Luhn-valid
    "my password is the same as before",
    "the password is required to log in",
    "the token is important",
    "pin the tab to the left",
    "my account has 123 items",
    "see /usr/local/lib/python3.11/site-packages/numpy",
    "ThisIsAVeryLongCamelCaseIdentifierWithoutDigits",
    "I live at 221B Baker Street, London NW1 6XE",
    "Version 3.11.7 build 20240101",
    "ISBN 978-3-16-148410-0",
]


@pytest.mark.parametrize(("message", "secret", "kind"), SECRETS, ids=[k + ":" + s[:12] for _, s, k in SECRETS])
def test_secrets_are_replaced_by_a_labelled_placeholder(message: str, secret: str, kind: str) -> None:
    result = redact(message)
    assert secret not in result.text
    assert kind in result.found
    assert f"[redacted {kind}]" in result.text


@pytest.mark.parametrize("message", KEPT)
def test_ordinary_text_and_numbers_are_kept(message: str) -> None:
    result = redact(message)
    assert result.text == message
    assert result.found == []


def test_the_context_around_a_secret_survives() -> None:
    result = redact("My name is Ana, my password is hunter2 and I live in Lisbon.")
    assert result.text == "My name is Ana, my password is [redacted password] and I live in Lisbon."


def test_several_kinds_are_reported_once_each_in_order() -> None:
    result = redact("pw: abc12345, card 4111111111111111, also password is zzz999")
    assert result.found == [PASSWORD, CARD]


def test_notice_tells_the_user_what_was_not_stored() -> None:
    assert notice([]) == ""
    assert notice([PASSWORD]) == "I didn't store your password: secrets are never saved to memory."
    assert notice([PASSWORD, CARD]) == "I didn't store your password or card number: secrets are never saved to memory."


def test_checksums() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB82WEST12345698765433")


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_never_crashes_and_is_idempotent_on_any_unicode(text: str) -> None:
    once = redact(text)
    assert isinstance(once.text, str)
    twice = redact(once.text)
    assert twice.text == once.text
    assert twice.found == []


secretish = st.one_of(
    st.sampled_from([message for message, _, _ in SECRETS] + KEPT),
    st.from_regex(r"(password|pw|api key|card|iban|ssn|account number) ?(is|:)? ?[A-Za-z0-9 \-]{0,30}", fullmatch=True),
    st.from_regex(r"[2-6][0-9 \-]{12,24}", fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(secretish, st.text(max_size=20)), max_size=4).map(" ".join))
def test_idempotent_on_secret_shaped_text(text: str) -> None:
    once = redact(text)
    assert redact(once.text).text == once.text
    for placeholder_kind in once.found:
        assert f"[redacted {placeholder_kind}]" in once.text
