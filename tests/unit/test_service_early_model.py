"""The service starts loading the model before it imports the core (server.Service._load_model_early)."""

from __future__ import annotations

import time

from assistant.config import load_settings
from assistant.service.server import Service


def test_the_model_loads_in_the_background_before_the_core_is_imported() -> None:
    runner = Service(load_settings(service_warm_up=True, context_size=1024))._load_model_early()
    assert runner is not None
    deadline = time.monotonic() + 120
    while not runner.loaded:
        assert time.monotonic() < deadline, "the model did not load in the background"
        time.sleep(0.05)
    assert runner.load_seconds is not None and runner.load_seconds > 0


def test_no_early_load_without_warm_up_nor_for_a_model_that_is_not_there() -> None:
    assert Service(load_settings(service_warm_up=False))._load_model_early() is None
    assert Service(load_settings(service_warm_up=True, model="no-such-model"))._load_model_early() is None
