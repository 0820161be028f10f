"""Fixtures of the evaluation tests: a verified model store."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.engine.model_store import verify_models
from kernel.errors import ModelError
from modelkit.build import build_models

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def eval_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repo's ``var/models`` when it verifies, else a store built into a tmp dir."""
    local = REPO / "var" / "models"
    try:
        verify_models(local)
        return local
    except ModelError:
        pass
    models_dir = tmp_path_factory.mktemp("models")
    build_models(models_dir)
    return models_dir
