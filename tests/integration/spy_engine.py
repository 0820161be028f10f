"""``engine.spy``: the real ``engine.onnx`` that also tells a test, in another process, what it
made of every face it saw, so that the R3 scan of a node run as ``pinchpoint run`` knows what
to look for (an in-process test wraps the engine instead: test_edge_outage_r3.py's ``Spy``).

Each template the engine computes, and the complete chip it was cut from, is reduced to its
R3 needles (:func:`tests.r3_scan.face_needles`) and appended, hex, one a line, to the file
``needles`` names: outside every node's data directory, in the test's own temp directory, and
only under this test adapter (production never loads it). :func:`shim_dir` makes the entry
point a subprocess finds it by.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import ClassVar

from adapters.engine.onnx import OnnxEngine, OnnxEngineConfig
from kernel import registry
from kernel.frames import Image
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.engine import Detection, Embeddings
from tests.r3_scan import face_needles


class SpyEngineConfig(OnnxEngineConfig, frozen=True, forbid_unknown_fields=True):
    """``[engine]`` with ``type = "spy"``: ``engine.onnx``'s keys and ``needles``, the file
    the needles go to (absolute)."""

    needles: str = ""


class SpyEngine(OnnxEngine):
    """``engine.onnx``, with every template's and chip's needles written to ``needles``."""

    Config: ClassVar[type[OnnxEngineConfig]] = SpyEngineConfig

    def __init__(self, config: OnnxEngineConfig, context: AdapterContext) -> None:
        super().__init__(config, context)
        assert isinstance(config, SpyEngineConfig) and config.needles
        self._needles = Path(config.needles)
        self._lock = threading.Lock()  # the executor's workers embed at once

    def embed_faces_sync(self, faces: Sequence[tuple[Image, Detection]]) -> Embeddings:
        # in an executor worker, like the embedding itself: the write never blocks the loop
        out = super().embed_faces_sync(faces)
        chips = [self.complete_chip_sync(image, d) for image, d in faces]
        lines = "".join(n.hex() + "\n" for n in face_needles(list(out), chips))
        with self._lock, self._needles.open("a") as f:
            f.write(lines)
        return out


def read_needles(path: Path) -> list[bytes]:
    """The needles a spy wrote (none when its engine saw no face)."""
    if not path.exists():
        return []
    return [bytes.fromhex(line) for line in path.read_text().split()]


def shim_dir(tmp: Path) -> Path:
    """A directory to put first on a subprocess's ``PYTHONPATH``: a one-package dist-info
    naming ``engine.spy`` (and ``link.nats`` while the installed package does not)."""
    lines = ["[pinchpoint.adapters]",
             "engine.spy = tests.integration.spy_engine:SpyEngine"]
    if not any(ep.name == "link.nats" for ep in entry_points(group=registry.GROUP)):
        lines.append("link.nats = adapters.link.nats:NatsLink")
    dist = tmp / "entry-points" / "pinchpoint_test_spy-0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pinchpoint-test-spy\n"
                                   "Version: 0\n")
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return dist.parent
