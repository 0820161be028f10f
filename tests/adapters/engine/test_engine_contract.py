"""engine.onnx passes the engine contract every integrator's engine must pass (R2, R10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.engine.onnx import OnnxEngine
from kernel.protocols.adapter import AdapterContext
from kernel.testing.engine_contract import EngineContract

DEMO_FACES = Path(__file__).resolve().parents[3] / "demo" / "faces"


class TestOnnxEngineContract(EngineContract):
    @pytest.fixture(autouse=True)
    def _models(self, models_dir: Path) -> None:
        self.models = models_dir

    async def make_engine(self, context: AdapterContext) -> Any:
        return OnnxEngine(OnnxEngine.Config(models_dir=str(self.models)), context)

    def face_photo(self) -> bytes:
        return (DEMO_FACES / "obama.jpg").read_bytes()
