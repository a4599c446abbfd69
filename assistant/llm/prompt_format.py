"""Chat prompts the text inside them cannot hijack.

A prompt is rendered with the model's own chat template and tokenized with special tokens
parsed (the template's `<start_of_turn>`, `[INST]`, `<|im_start|>` must become control
tokens). Message text is part of that string, so a message, a pasted file or a recalled
memory that holds the same markup would become the same control tokens and could open a
fake system turn. Before rendering, every message is defused with the loaded model's own
list of control tokens (what llama.cpp matches as one token when it parses special
tokens: the vocabulary's CONTROL tokens, and USER_DEFINED ones that look like markup):
a word joiner (U+2060, invisible) goes after the first character of each occurrence, so
the text reads the same but can no longer match the token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from llama_cpp import Llama

# Used when a GGUF file carries no chat template of its own.
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

WORD_JOINER = "\u2060"
# llama.cpp's token attributes (llama_token_attr).
ATTR_CONTROL = 1 << 3
ATTR_USER_DEFINED = 1 << 4
_MARKUP = frozenset("<>[]|{}")

# `<|im_start|>`-style markup is defused whatever the vocabulary says: it is how most chat
# templates spell their tokens, and the ChatML fallback template uses it.
_PIPE_MARKUP = re.compile(r"<(\|[^|<>\s]{1,48}\|)>")


class _Message(Protocol):
    role: str
    content: str


def looks_like_control(text: str, attributes: int) -> bool:
    """Whether a vocabulary token is one message text must never turn into."""
    if len(text) < 2 or WORD_JOINER in text or not text.strip():
        return False
    if attributes & ATTR_CONTROL:
        return True
    # User-defined tokens are matched even without special parsing; only markup ones matter
    # (Gemma's vocabulary also defines whitespace runs and such as user tokens).
    return bool(attributes & ATTR_USER_DEFINED) and not any(c.isspace() for c in text) and bool(_MARKUP & set(text))


class ControlTokens:
    """The control-token texts of one vocabulary, and `defuse` to keep text from forming them."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.texts = frozenset(texts)
        by_prefix: dict[str, list[str]] = {}
        for text in self.texts:
            by_prefix.setdefault(text[:2], []).append(text)
        self._by_prefix = by_prefix
        self._starts = re.compile("|".join(sorted(map(re.escape, by_prefix)))) if by_prefix else None

    @classmethod
    def from_llama(cls, llama: Llama) -> ControlTokens:
        import llama_cpp

        vocab = llama._model.vocab
        get_attr, get_text = llama_cpp.llama_vocab_get_attr, llama_cpp.llama_vocab_get_text
        texts = []
        for token in range(int(llama_cpp.llama_vocab_n_tokens(vocab))):
            attributes = int(get_attr(vocab, token))
            if attributes & (ATTR_CONTROL | ATTR_USER_DEFINED):
                text = (get_text(vocab, token) or b"").decode("utf-8", errors="replace")
                if looks_like_control(text, attributes):
                    texts.append(text)
        return cls(texts)

    @classmethod
    def of_model_file(cls, llama: Llama, model_path: Path) -> ControlTokens:
        """`from_llama`, computed once per model file (see control_cache.py)."""
        import llama_cpp

        from assistant.llm import control_cache

        engine = str(getattr(llama_cpp, "__version__", "?"))
        cached = control_cache.load(model_path, engine)
        if cached is not None:
            return cls(cached)
        found = cls.from_llama(llama)
        control_cache.save(model_path, engine, list(found.texts))
        return found

    def defuse(self, text: str) -> str:
        """`text` with a word joiner after the first character of every control-token occurrence.

        Every position where some token starts gets one, overlapping occurrences included, so
        no occurrence survives anywhere in the result.
        """
        if self._starts is not None:
            pieces: list[str] = []
            done = 0
            position = 0
            while (found := self._starts.search(text, position)) is not None:
                start = found.start()
                position = start + 1
                if any(text.startswith(token, start) for token in self._by_prefix[found.group()]):
                    pieces.append(text[done : start + 1])
                    pieces.append(WORD_JOINER)
                    done = start + 1
            pieces.append(text[done:])
            text = "".join(pieces)
        return _PIPE_MARKUP.sub(f"<{WORD_JOINER}\\1>", text)


def defuse_control_tokens(text: str) -> str:
    """`<|…|>` markup made inert, for callers without a loaded vocabulary."""
    return _PIPE_MARKUP.sub(f"<{WORD_JOINER}\\1>", text)


@dataclass
class PromptFormat:
    """How one loaded model's prompts are rendered and tokenized."""

    llama: Any
    template: Any
    stop_strings: list[str]
    control: ControlTokens

    @classmethod
    def for_model(cls, llama: Llama, chat_template: str | None, model_path: Path | None = None) -> PromptFormat:
        """The format of a loaded model; with its file's path, the control tokens come from the cache."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        eos_id, bos_id = llama.token_eos(), llama.token_bos()
        eos = llama._model.token_get_text(eos_id) if eos_id != -1 else ""
        bos = llama._model.token_get_text(bos_id) if bos_id != -1 else ""
        template = Jinja2ChatFormatter(
            template=chat_template or CHATML_TEMPLATE,
            eos_token=eos,
            bos_token=bos,
            stop_token_ids=[eos_id] if eos_id != -1 else None,
        )
        stop_strings = [eos] if eos else []
        if not chat_template:
            stop_strings.append("<|im_end|>")
        control = ControlTokens.of_model_file(llama, model_path) if model_path else ControlTokens.from_llama(llama)
        return cls(llama, template, stop_strings, control)

    def render(self, messages: Sequence[_Message]) -> str:
        """The exact prompt text the model sees; message text cannot form a control token."""
        safe = [{"role": m.role, "content": self.control.defuse(m.content)} for m in messages]
        return str(self.template(messages=safe).prompt)

    def tokenize_prompt(self, prompt: str) -> list[int]:
        """Tokens of a rendered prompt: the template's markup becomes its control tokens."""
        tokens: list[int] = self.llama.tokenize(prompt.encode("utf-8", errors="replace"), add_bos=False, special=True)
        return tokens

    def count_text(self, text: str) -> int:
        """Tokens `text` takes as message content (defused, as `render` puts it)."""
        return len(self.tokenize_prompt(self.control.defuse(text)))
