"""The user's conversation survives background work in llama.cpp's cache.

llama.cpp keeps one key/value cache: the prompt evaluated last. A background prompt (a summary,
an extraction) overwrites the conversation's, so the next reply would evaluate its whole prompt
again (a long conversation: seconds). `ChatCache` copies the conversation's cells out before
background work takes the model and back when the chat returns (milliseconds), and evaluates
background prompts in small chunks so the user's chat can take the model between two of them.

Leans on llama-cpp-python internals (n_tokens, input_ids, the state_seq functions); if those
change, everything here falls back to what llama.cpp does by itself: evaluate the prompt again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Background prompts are evaluated in chunks sized to take about this long, so the user's chat
# can take the model between two of them: 16 tokens of the starter model on two cores, one or
# two of a 7B model. Smaller chunks evaluate a little slower, but only background work pays.
PREFILL_CHUNK_SECONDS = 0.02
# Never fewer than 16: every chunk pays a whole decode's overhead, so on a busy CPU the measured
# time per token grew, the chunks shrank to one token and a 200-token extraction prompt took 35 s
# on one thread and 540 s on two, against 12 s and 81 s in chunks of 16 (starter model, load 12).
PREFILL_CHUNK_TOKENS = (16, 64)  # fewest and most tokens a chunk holds
PREFILL_FIRST_CHUNK = 16  # before the model's speed is known


@dataclass
class SavedCache:
    """llama.cpp's key/value cells for a sequence of evaluated tokens (llama_state_seq_get_data)."""

    cells: Any
    size: int
    tokens: list[int]


def shared_prefix(have: Sequence[int], want: Sequence[int]) -> int:
    """How many tokens two sequences share from the start (what llama.cpp can reuse)."""
    count = 0
    for a, b in zip(have, want, strict=False):
        if a != b:
            break
        count += 1
    return count


def is_append_only(llama: Any) -> bool:
    """Whether llama.cpp's memory for this model is (partly) recurrent: its cache cannot be cut back."""
    return bool(getattr(llama, "_is_recurrent", False) or getattr(llama, "_is_hybrid", False))


class ChatCache:
    """What one runner's llama.cpp cache holds, and the user's conversation kept aside from it.

    Used only while the runner holds its model lock, so it needs no lock of its own.
    """

    def __init__(self) -> None:
        self._saved_chat: SavedCache | None = None
        self._holds_chat = True
        self._seconds_per_token: float | None = None  # prompt evaluation, measured on background chunks

    def prepare(self, llama: Any, tokens: Sequence[int], background: bool, preempted: threading.Event) -> bool:
        """Ready llama.cpp's cache for `tokens`: a background prompt is prefilled, the chat's cells come back.

        False when the user's chat preempted the background prompt's prefill.
        """
        if not background:
            self.restore_chat(llama, tokens)
            return True
        self.keep_chat(llama)
        return self.prefill(llama, tokens, preempted)

    def keep_chat(self, llama: Any) -> None:
        """Before a background prompt overwrites llama.cpp's cache, copy out the chat's part of it.

        Only the key/value cells of the evaluated tokens are kept.
        """
        if not self._holds_chat:
            return
        self._holds_chat = False
        self._saved_chat = None
        try:
            import ctypes

            import llama_cpp

            count = int(llama.n_tokens)
            if count == 0:
                return
            context = llama._ctx.ctx
            size = int(llama_cpp.llama_state_seq_get_size(context, 0))
            buffer = (ctypes.c_uint8 * size)()
            written = int(llama_cpp.llama_state_seq_get_data(context, buffer, size, 0))
            if 0 < written <= size:
                self._saved_chat = SavedCache(buffer, written, list(llama.input_ids[:count]))
        except (AttributeError, TypeError, ImportError, ValueError):
            self._saved_chat = None  # llama-cpp-python changed: the chat re-evaluates, as before

    def restore_chat(self, llama: Any, tokens: Sequence[int]) -> None:
        """Put the saved chat cells back when they share more of `tokens` than the cache does now."""
        saved, self._saved_chat = self._saved_chat, None
        already_chat, self._holds_chat = self._holds_chat, True
        if saved is None or already_chat:
            return
        try:
            import llama_cpp

            if shared_prefix(saved.tokens, tokens) <= shared_prefix(llama.input_ids[: llama.n_tokens], tokens):
                return
            context = llama._ctx.ctx
            llama._ctx.kv_cache_seq_rm(-1, 0, -1)
            if int(llama_cpp.llama_state_seq_set_data(context, saved.cells, saved.size, 0)) != saved.size:
                llama._ctx.kv_cache_seq_rm(-1, 0, -1)
                llama.n_tokens = 0
                return
            llama.input_ids[: len(saved.tokens)] = saved.tokens
            llama.n_tokens = len(saved.tokens)
        except (AttributeError, TypeError, ImportError, ValueError):
            return

    def _chunk_tokens(self) -> int:
        if self._seconds_per_token is None:
            return PREFILL_FIRST_CHUNK
        fewest, most = PREFILL_CHUNK_TOKENS
        return max(fewest, min(most, int(PREFILL_CHUNK_SECONDS / self._seconds_per_token)))

    def prefill(self, llama: Any, tokens: Sequence[int], preempted: threading.Event) -> bool:
        """Evaluate a background prompt in small chunks, stopping as soon as the user needs the model.

        llama.cpp evaluates a whole prompt before the first token and cannot be interrupted
        inside that call, so a long summary prompt would hold up the user's reply for as long as
        it takes. In chunks, the user waits for one chunk at most; the completion that follows
        finds the evaluated prefix in the cache. If llama-cpp-python's cache bookkeeping ever
        changes, the prompt is simply evaluated in one go by the completion. False when `preempted`
        was set before the prompt was evaluated.
        """
        try:
            common = min(shared_prefix(llama.input_ids[: llama.n_tokens], tokens), len(tokens) - 1)
            if common < llama.n_tokens and is_append_only(llama):
                # A recurrent state cannot be cut back to the shared prefix: start from nothing.
                llama.reset()
                common = 0
            llama.n_tokens = common  # eval() drops the cache past this point
            last = len(tokens) - 1  # left for the completion, which needs a token to decode
            start = common
            while start < last:
                if preempted.is_set():
                    return False
                chunk = tokens[start : min(start + self._chunk_tokens(), last)]
                began = time.perf_counter()
                llama.eval(chunk)
                per_token = (time.perf_counter() - began) / len(chunk)
                known = self._seconds_per_token
                self._seconds_per_token = per_token if known is None else 0.7 * known + 0.3 * per_token
                start += len(chunk)
        except (AttributeError, TypeError):
            pass
        return True
