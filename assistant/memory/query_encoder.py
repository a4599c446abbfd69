"""One text's vector through a TorchScript trace of the embedder's transformer.

Every recall embeds its query, alone, on the request path. sentence-transformers' `encode`
spends a third of a short query's time around the model rather than in it: measured with
all-MiniLM-L6-v2 in bfloat16 on one thread, 9.2 ms of CPU a query through `encode`, 6.1 ms
through the frozen trace, with vectors within 0.99999 cosine of encode's from 1 to 256 tokens.
Tracing takes 0.2 s, once, when the model loads.

Measured and not used: the same transformer exported to ONNX and run by ONNX Runtime on one
thread took 4.7-5.3 ms a query against the bfloat16 trace's 5.9-6.1, in float32 (cosine 0.998
to the stored bfloat16 vectors), for two more dependencies.

Only a pipeline this reproduces exactly is traced: a transformer, mean pooling, then
normalization (the bundled embedder's). Any other (CLS pooling, a dense layer) embeds through
`encode`, as does a trace whose vector for a probe text differs from encode's.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# Checked against encode at two lengths: the trace must not have kept its example's.
PROBES = ("  What did I tell you about my sister's new job in Lisbon?  ", "Hi")
AGREEMENT = 0.9999  # the least cosine to encode's vector for the probe

log = logging.getLogger(__name__)


class TracedQueryEncoder:
    """Embeds one text at a time, as the model's `encode` would (not thread-safe: the caller locks)."""

    def __init__(self, prepare: Any, traced: Any) -> None:
        self._prepare = prepare  # the model's own tokenization (its first module's)
        self._traced = traced

    def embed(self, text: str) -> np.ndarray:
        """`text`'s float32 vector, mean-pooled as encode's and not yet normalized (embed.py
        normalizes every vector alike, in float32)."""
        import torch

        features = self._prepare([text])
        with torch.inference_mode():
            output = self._traced(features["input_ids"], features["attention_mask"])
            tokens = output["last_hidden_state"] if isinstance(output, dict) else output[0]
            mask = features["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
        vector: np.ndarray = pooled[0].float().numpy()
        return vector


def trace_query_encoder(model: Any) -> TracedQueryEncoder | None:
    """A traced encoder reproducing `model` (a loaded SentenceTransformer), or None if it cannot."""
    try:
        return _trace(model)
    except Exception as error:  # noqa: BLE001 - any failure means encode, which always works
        log.debug("query encoder not traced: %s", error)
        return None


def _reproducible(model: Any) -> bool:
    modules = [type(module).__name__ for module in model]
    if modules not in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"]):
        return False
    pooling = model[1].get_config_dict()
    return bool(pooling.get("pooling_mode") == "mean" or pooling.get("pooling_mode_mean_tokens"))


def _trace(model: Any) -> TracedQueryEncoder | None:
    import numpy as np
    import torch

    if not _reproducible(model):
        return None
    transformer = model[0]
    backbone = transformer.auto_model
    prepare = getattr(transformer, "preprocess", None) or transformer.tokenize
    example = prepare([PROBES[0]])
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it records as constants
        traced = torch.jit.trace(
            backbone, (example["input_ids"], example["attention_mask"]), strict=False, check_trace=False
        )
        traced = torch.jit.freeze(traced.eval())
    encoder = TracedQueryEncoder(prepare, traced)
    expected = np.asarray(model.encode(list(PROBES), convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)
    traced_vectors = np.stack([encoder.embed(probe) for probe in PROBES])
    agreement = float(
        min(
            (traced_vectors * expected).sum(axis=1)
            / np.maximum(np.linalg.norm(traced_vectors, axis=1) * np.linalg.norm(expected, axis=1), 1e-12)
        )
    )
    if agreement < AGREEMENT:
        log.debug("query encoder trace disagrees with encode (cosine %.6f)", agreement)
        return None
    return encoder
