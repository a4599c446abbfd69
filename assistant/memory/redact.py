"""Secrets are never memories: find them in text and replace them with labelled placeholders.

`redact()` runs before anything a user says is stored or extracted. It removes passwords,
API keys and tokens, payment card numbers (Luhn-checked), IBANs (mod-97 checked), labelled
bank account and routing numbers, US social security numbers and private key blocks. Plain
numbers (years, prices, dates, phone numbers) are left alone: the number patterns demand a
checksum or a label, never just "many digits".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

PASSWORD = "password"
API_KEY = "API key"
CARD = "card number"
IBAN = "IBAN"
ACCOUNT = "bank account number"
ROUTING = "routing number"
SSN = "social security number"
PRIVATE_KEY = "private key"

_MAX_PASSES = 4


@dataclass(frozen=True)
class Redaction:
    text: str
    found: list[str] = field(default_factory=list)  # kinds of secrets removed, first-seen order

    @property
    def changed(self) -> bool:
        return bool(self.found)


def placeholder(kind: str) -> str:
    return f"[redacted {kind}]"


def notice(found: list[str]) -> str:
    """The line shown to the user when something was redacted ("" when nothing was)."""
    if not found:
        return ""
    kinds = list(dict.fromkeys(found))
    named = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " or " + kinds[-1]
    return f"I didn't store your {named}: secrets are never saved to memory."


# -- checks --------------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    if not compact.isascii() or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return int(numeric) % 97 == 1


def shannon_entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


# -- patterns ------------------------------------------------------------------------------

_NOT_PLACEHOLDER = r"(?!\[redacted)"

_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY( BLOCK)?-----.*?(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY( BLOCK)?-----|\Z)",
    re.DOTALL,
)

_TOKEN_PREFIXES = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"sk-(?:proj-|ant-|live-)?[A-Za-z0-9_\-]{16,}"  # OpenAI, Anthropic
    r"|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"  # Stripe
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"  # GitHub
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}"  # AWS access key id
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}"  # Slack
    r"|AIza[A-Za-z0-9_\-]{30,}"  # Google
    r"|glpat-[A-Za-z0-9_\-]{20,}"  # GitLab
    r"|hf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"  # JWT
    r")"
)

_BEARER = re.compile(r"(?i)\b(bearer)\s+" + _NOT_PLACEHOLDER + r"[A-Za-z0-9._~+/\-]{8,}=*")

_LABELLED_KEY = re.compile(
    r"(?i)\b((?:api|access|secret|auth(?:entication)?|private|client)[ _-]?(?:key|token|secret)"
    r"|(?:personal )?access token|client secret|secret key|auth token|token)"
    r"(\s*(?:is|was|:|=)\s*(?:now\s+)?)" + _NOT_PLACEHOLDER + r"[\"'“‘]?([A-Za-z0-9._~+/\-]{8,})[\"'”’]?"
)

# "my password is X", "pw: X", "passcode = X", "my password for gmail is X"
_PASSWORD = re.compile(
    r"(?i)\b(pass(?:word|wd|code|phrase)|pwd?|pin(?:\s+(?:code|number))?)"
    r"((?:\s+(?:for|to|on|of|at)\s+[^\s:=]{1,30}(?:\s+[^\s:=]{1,30})?)?"
    r"(?:\s*(?::|=)\s*|\s+(?:is|was|'s)\s*:?\s*|'s\s+)(?:now\s+|still\s+|just\s+)?)"
    + _NOT_PLACEHOLDER
    + r"(\"[^\"\n]{1,80}\"|'[^'\n]{1,80}'|“[^”\n]{1,80}”|[^\s\"'“”]{1,80})"
)

# Words after "password is" that describe the password rather than being it.
_NOT_A_SECRET = {
    "a",
    "an",
    "the",
    "not",
    "too",
    "very",
    "required",
    "wrong",
    "incorrect",
    "invalid",
    "expired",
    "weak",
    "strong",
    "long",
    "short",
    "same",
    "different",
    "secure",
    "safe",
    "hidden",
    "changed",
    "reset",
    "saved",
    "stored",
    "set",
    "correct",
    "right",
    "missing",
    "empty",
    "blank",
    "case",
    "forgotten",
    "lost",
    "my",
    "your",
    "his",
    "her",
    "their",
    "our",
    "in",
    "on",
    "at",
    "of",
    "for",
    "and",
    "or",
    "but",
    "it",
    "that",
    "this",
    "what",
    "which",
    "easy",
    "hard",
    "simple",
    "mandatory",
    "optional",
    "needed",
    "necessary",
    "please",
    "also",
    "still",
    "now",
    "just",
    "so",
    "really",
    "secret",
    "private",
    "confidential",
    "encrypted",
    "unknown",
    "locked",
    "compromised",
    "leaked",
}

_CARD = re.compile(r"(?<![0-9A-Za-z+\-.,/])[2-6](?:[ \-]?[0-9]){12,18}(?![0-9A-Za-z\-]|[.,/][0-9])")

_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,32}(?![A-Za-z0-9])")

_SSN = re.compile(r"(?<![0-9\-])(?!000|666|9[0-9]{2})[0-9]{3}-(?!00)[0-9]{2}-(?!0000)[0-9]{4}(?![0-9\-])")

_LABELLED_SSN = re.compile(
    r"(?i)\b(ssn|social security(?: number| no\.?| #)?)(\s*(?:is|was|:|=|#)?\s*)"
    r"([0-9]{3}[ \-]?[0-9]{2}[ \-]?[0-9]{4})\b"
)

_ACCOUNT_NUMBER = re.compile(
    r"(?i)\b((?:bank\s+|checking\s+|savings\s+|current\s+)?(?:account|acct|a/c)"
    r"(?:\s+(?:number|no\.?|num|#))?|account#)"
    r"(\s*(?:is|was|:|=|#)?\s*)([0-9](?:[ \-]?[0-9]){5,16})(?![0-9])"
)

_ROUTING_NUMBER = re.compile(
    r"(?i)\b(routing(?:\s+(?:number|no\.?|#))?|aba(?:\s+number)?|sort\s+code|bsb(?:\s+number)?|swift(?:\s+code)?)"
    r"(\s*(?:is|was|:|=|#)?\s*)([0-9](?:[ \-]?[0-9]){5,10}|[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?)(?![0-9A-Za-z])"
)

_GENERIC_TOKEN = re.compile(r"(?<![A-Za-z0-9_\-+/])[A-Za-z0-9_\-+/]{32,}={0,2}(?![A-Za-z0-9_\-+/=])")
_HEX_TOKEN = re.compile(r"(?<![A-Za-z0-9])[0-9a-fA-F]{32,}(?![A-Za-z0-9])")


def _looks_random(token: str) -> bool:
    body = token.rstrip("=")
    if "/" in body and not any(c.isdigit() for c in body.split("/")[-1]):
        return False  # a path, not a key
    classes = sum((any(c.islower() for c in body), any(c.isupper() for c in body), any(c.isdigit() for c in body)))
    return classes >= 2 and any(c.isdigit() for c in body) and shannon_entropy(body) >= 3.7


# -- the pass ------------------------------------------------------------------------------

Replacer = Callable[[re.Match[str]], str | None]


def _sub(pattern: re.Pattern[str], text: str, kind: str, found: list[str], decide: Replacer) -> str:
    def replace(match: re.Match[str]) -> str:
        replacement = decide(match)
        if replacement is None:
            return match.group(0)
        if kind not in found:
            found.append(kind)
        return replacement

    return pattern.sub(replace, text)


def _whole(kind: str) -> Replacer:
    return lambda match: placeholder(kind)


def _labelled(kind: str, group: int = 3) -> Replacer:
    """Keep the label, replace only the secret."""

    def decide(match: re.Match[str]) -> str | None:
        start, end = match.span(group)
        whole_start = match.start()
        return match.group(0)[: start - whole_start] + placeholder(kind) + match.group(0)[end - whole_start :]

    return decide


def _password(match: re.Match[str]) -> str | None:
    secret = match.group(3).strip("\"'“”‘’").rstrip(".,!?;:)")
    if not secret or secret.lower() in _NOT_A_SECRET:
        return None
    label = match.group(1).lower()
    if label.startswith("pin") and not re.fullmatch(r"[0-9]{4,8}", secret):
        return None
    if label in ("pw", "pwd") and not match.group(2).strip().startswith((":", "=", "is")):
        return None
    raw = match.group(3)
    trailing = raw[len(raw.rstrip(".,!?;:)")) :] if raw[:1] not in "\"'“" else ""
    return match.group(1) + match.group(2) + placeholder(PASSWORD) + trailing


def _card(match: re.Match[str]) -> str | None:
    digits = re.sub(r"[ \-]", "", match.group(0))
    if not 13 <= len(digits) <= 19 or not luhn_valid(digits) or len(set(digits)) == 1:
        return None
    return placeholder(CARD)


def _iban(match: re.Match[str]) -> str | None:
    raw = match.group(0)
    # The pattern may have swallowed a following word; find the longest valid prefix.
    for end in range(len(raw), 14, -1):
        prefix = raw[:end].rstrip()
        if end < len(raw) and raw[end - 1] == " ":
            continue
        if prefix[:2].isupper() and iban_valid(prefix):
            return placeholder(IBAN) + raw[end:]
    return None


def _labelled_key(match: re.Match[str]) -> str | None:
    secret = match.group(3)
    if secret.lower() in _NOT_A_SECRET or not (any(c.isdigit() for c in secret) or len(secret) >= 20):
        return None
    return _labelled(API_KEY)(match)


def _generic_token(match: re.Match[str]) -> str | None:
    return placeholder(API_KEY) if _looks_random(match.group(0)) else None


def _one_pass(text: str, found: list[str]) -> str:
    text = _sub(_PRIVATE_KEY, text, PRIVATE_KEY, found, _whole(PRIVATE_KEY))
    text = _sub(_TOKEN_PREFIXES, text, API_KEY, found, _whole(API_KEY))
    text = _sub(_BEARER, text, API_KEY, found, lambda m: m.group(1) + " " + placeholder(API_KEY))
    text = _sub(_LABELLED_KEY, text, API_KEY, found, _labelled_key)
    text = _sub(_PASSWORD, text, PASSWORD, found, _password)
    text = _sub(_LABELLED_SSN, text, SSN, found, _labelled(SSN))
    text = _sub(_SSN, text, SSN, found, _whole(SSN))
    text = _sub(_IBAN, text, IBAN, found, _iban)
    text = _sub(_CARD, text, CARD, found, _card)
    text = _sub(_ROUTING_NUMBER, text, ROUTING, found, _labelled(ROUTING))
    text = _sub(_ACCOUNT_NUMBER, text, ACCOUNT, found, _labelled(ACCOUNT))
    text = _sub(_HEX_TOKEN, text, API_KEY, found, _whole(API_KEY))
    text = _sub(_GENERIC_TOKEN, text, API_KEY, found, _generic_token)
    return text


def redact(text: str) -> Redaction:
    """Replace every secret in `text` with a labelled placeholder; idempotent."""
    found: list[str] = []
    for _ in range(_MAX_PASSES):
        updated = _one_pass(text, found)
        if updated == text:
            break
        text = updated
    return Redaction(text, found)
