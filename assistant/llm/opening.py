"""Opening the model runner the settings name: a local GGUF file, or the user's OpenAI-compatible engine.

Light to import (no llama_cpp until the model loads): the service starts loading the model
before it imports the core (see service/server.py).
"""

from __future__ import annotations

from assistant.config import Settings
from assistant.llm.catalog import resolve_model
from assistant.llm.remote import Endpoint, RemoteRunner, is_endpoint
from assistant.llm.runner import ModelRunner


def open_runner(settings: Settings) -> ModelRunner:
    if is_endpoint(settings.model):  # the user's own OpenAI-compatible engine serves the model
        return RemoteRunner(Endpoint.parse(settings.model), context_size=settings.context_size, seed=settings.seed)
    model = resolve_model(settings.model)
    return ModelRunner(model.path, context_size=settings.context_size, threads=settings.threads, seed=settings.seed)
