"""What the user wrote themselves, as opposed to text they pasted in.

Pasted files, logs and quoted mail are data: "my name is Mallory" inside a pasted document
is not the user telling us their name. Learning looks only at the user's own lines: it
drops fenced blocks (``` or ~~~, and blocks between two `---` lines) and `>` quoted lines.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(```|~~~)")
_RULE = re.compile(r"^\s*(-{3,}|={3,})\s*$")
_QUOTED = re.compile(r"^\s*>")


def authored_text(text: str) -> str:
    """`text` without pasted blocks and quoted lines."""
    lines = text.splitlines()
    rules = [index for index, line in enumerate(lines) if _RULE.match(line)]
    inside_rule_block: set[int] = set()
    for start, end in zip(rules[::2], rules[1::2], strict=False):
        inside_rule_block.update(range(start, end + 1))
    kept: list[str] = []
    fenced = False
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced or index in inside_rule_block or _QUOTED.match(line):
            continue
        kept.append(line)
    return "\n".join(kept)  # after an unclosed fence everything was pasted, and was dropped
