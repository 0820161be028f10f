"""docs/adapters.md's example cameras are real: extracted, registered, run through the contract
(the plain one and the one built on the public adapter kit, ``kernel.adapter_kit``)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from kernel import config, registry
from kernel.protocols.adapter import AdapterContext
from kernel.testing.camera_contract import CameraContract

DOC = Path(__file__).resolve().parents[2] / "docs" / "adapters.md"


def load_example(file: str = "pinchpoint_testpattern.py") -> ModuleType:
    text = DOC.read_text()
    match = re.search(rf"```python file=({re.escape(file)})\n(.*?)```", text, re.S)
    assert match, f"docs/adapters.md lost its example {file}"
    name = match.group(1).removesuffix(".py")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(compile(match.group(2), str(DOC), "exec"), module.__dict__)
    sys.modules[name] = module
    return module


class TestDocumentedCamera(CameraContract):
    async def make_camera(self, context: AdapterContext) -> Any:
        cls = load_example().TestPatternCamera
        return cls(cls.Config(fps=100), context)


class TestDocumentedKitCamera(CameraContract):
    async def make_camera(self, context: AdapterContext) -> Any:
        cls = load_example("pinchpoint_blockingpattern.py").BlockingPatternCamera
        return cls(cls.Config(fps=100), context)


def test_documented_kit_camera_uses_only_the_public_kit() -> None:
    module = load_example("pinchpoint_blockingpattern.py")
    from kernel.adapter_kit import ThreadedCamera

    assert issubclass(module.BlockingPatternCamera, ThreadedCamera)
    block = DOC.read_text().split("file=pinchpoint_blockingpattern.py")[1].split("```")[0]
    assert "from kernel.adapter_kit import" in block
    assert not re.search(r"^\s*(from|import) adapters\b", block, re.M)


def test_documented_config_validates(tmp_path: Path) -> None:
    registry.register("camera", "testpattern", load_example().TestPatternCamera)
    try:
        path = tmp_path / "c.toml"
        path.write_text('[[cameras]]\nid = "lane-2"\ntype = "testpattern"\nfps = 10\n')
        cfg = config.load(path, environ={})
        assert cfg.cameras[0].settings.fps == 10
        path.write_text('[[cameras]]\nid = "lane-2"\ntype = "testpattern"\nfps = "ten"\n')
        try:
            config.load(path, environ={})
        except config.ConfigError as exc:
            assert "cameras[0].fps" in str(exc) and "'ten'" in str(exc)
        else:
            raise AssertionError("a wrong type passed validation")
    finally:
        registry.unregister("camera", "testpattern")
