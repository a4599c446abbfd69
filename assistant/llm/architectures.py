"""What the model's architecture (GGUF `general.architecture`) means for the prompt cache.

Transformers keep one key/value entry per token, so llama.cpp can cut its cache back to the
prefix a new prompt shares with the last one and evaluate only the rest. Recurrent models
(Mamba, RWKV) and hybrids that mix attention with recurrent or convolution layers (Qwen3.5,
Qwen3-Next, Granite 4 H, LFM2, Jamba, Nemotron-H, Falcon-H1) keep a running state instead,
which cannot be cut back: any change before the end of the prompt costs a full re-read of
it. Only appending to the previous prompt reuses the cache. The names are llama.cpp's.
"""

from __future__ import annotations

RECURRENT_ARCHITECTURES = frozenset(
    {
        "mamba",
        "mamba2",
        "rwkv6",
        "rwkv6qwen2",
        "rwkv7",
        "arwkv7",  # recurrent
        "jamba",
        "falcon-h1",
        "granitehybrid",
        "lfm2",
        "lfm2moe",
        "nemotron_h",
        "nemotron_h_moe",
        "plamo2",
        "qwen3next",
        "qwen35",
        "qwen35moe",
        "kimi-linear",  # hybrid
    }
)

APPEND_ONLY_NOTE = (
    "hybrid/recurrent: the prompt cache survives only a prompt that grows at its end; a turn that "
    "changes earlier context (new memories, a dropped old turn) re-reads the whole prompt"
)


def append_only_cache(architecture: str | None) -> bool:
    """True when llama.cpp can reuse this architecture's cache only for a prompt that extends the last one."""
    return (architecture or "").lower() in RECURRENT_ARCHITECTURES
