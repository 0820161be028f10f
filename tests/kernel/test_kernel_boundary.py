"""The kernel imports no adapter, no web framework, no database driver and no media or
inference library (architecture.md): everything of that kind arrives through the registry."""

from __future__ import annotations

import ast
from pathlib import Path

KERNEL = Path(__file__).resolve().parents[2] / "kernel"
FORBIDDEN = {"adapters", "mobile_api", "litestar", "uvicorn", "aiosqlite", "sqlite3", "aiomqtt",
             "pywebpush", "av", "aiortc", "onnxruntime", "onnx", "usearch", "faiss", "cv2",
             "dlib", "face_recognition"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


# The contract kits may build real dlib descriptors (lazily) to make test data; they never
# run inside `pinchpoint run`.
ALLOWED = {"kernel/testing/index_contract.py": {"face_recognition"}}


def test_kernel_imports_no_adapter_framework_or_driver() -> None:
    offenders = {}
    for path in KERNEL.rglob("*.py"):
        name = str(path.relative_to(KERNEL.parent))
        bad = imported_roots(path) & FORBIDDEN - ALLOWED.get(name, set())
        if bad:
            offenders[name] = sorted(bad)
    assert offenders == {}
