"""The layers' boundaries (architecture: kernel ← adapters, mobile_api; tools beside them):

- the kernel imports no adapter, no web framework, no database driver, no media or inference
  library and no tool package: everything of that kind arrives through the registry;
- ``mobile_api`` imports no adapter (an adapter's own HTTP routes arrive through the
  ``pinchpoint.http_routes`` hook, :func:`kernel.registry.http_routes`);
- no module of the shipped runtime (kernel, adapters, mobile_api) imports matplotlib or a tool
  package (evaluation, demo, modelkit): checked statically and by importing every runtime
  module in a fresh interpreter;
- the kernel's modules import each other without cycles.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KERNEL = REPO / "kernel"
RUNTIME = ("kernel", "adapters", "mobile_api")
TOOLS = {"evaluation", "demo", "modelkit"}
TOOL_ONLY = {"matplotlib"} | TOOLS
WEB = {"litestar", "uvicorn", "starlette", "fastapi"}
FORBIDDEN = {"adapters", "mobile_api", "aiosqlite", "sqlite3", "aiomqtt", "pywebpush", "av",
             "aiortc", "onnxruntime", "onnx", "usearch", "faiss", "cv2", "dlib",
             "face_recognition"} | WEB | TOOL_ONLY


def _imports(path: Path) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(module, names) of every absolute import in ``path`` (names empty for ``import m``)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, tuple(alias.name for alias in node.names)


def imported_roots(path: Path) -> set[str]:
    return {module.split(".")[0] for module, _ in _imports(path)}


def _scan(package: str, forbidden: set[str],
          allowed: dict[str, set[str]] | None = None) -> dict[str, list[str]]:
    offenders = {}
    for path in sorted((REPO / package).rglob("*.py")):
        name = str(path.relative_to(REPO))
        bad = imported_roots(path) & forbidden - (allowed or {}).get(name, set())
        if bad:
            offenders[name] = sorted(bad)
    return offenders


# The contract kits may build real dlib descriptors (lazily) to make test data; they never
# run inside `pinchpoint run`.
ALLOWED = {"kernel/testing/index_contract.py": {"face_recognition"}}


def test_kernel_imports_no_adapter_framework_driver_or_tool() -> None:
    assert _scan("kernel", FORBIDDEN, ALLOWED) == {}


def test_mobile_api_imports_no_adapter() -> None:
    assert _scan("mobile_api", {"adapters"}) == {}


def test_shipped_runtime_names_no_tool_package() -> None:
    offenders = {}
    for package in RUNTIME:
        offenders |= _scan(package, TOOL_ONLY)
    assert offenders == {}


def _runtime_modules() -> list[str]:
    names = []
    for package in RUNTIME:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_importing_the_whole_runtime_loads_no_tool_package() -> None:
    """Every module of kernel, adapters and mobile_api imported in a fresh interpreter: none
    pulls in matplotlib or a tool package (the shipped runtime runs without the extras)."""
    script = (
        "import importlib, json, sys\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, json.dumps(_runtime_modules())],
                          cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert loaded & TOOL_ONLY == set()
    assert "adapters" in loaded and "mobile_api" in loaded  # the scan really imported them


def _kernel_graph() -> dict[str, set[str]]:
    modules = {}
    for path in KERNEL.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for module, names in _imports(path):
            targets = {f"{module}.{n}" for n in names if f"{module}.{n}" in modules}
            if not targets and module in modules:
                targets = {module}
            graph[name] |= targets - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_among_kernel_modules() -> None:
    """Every import counts, TYPE_CHECKING ones too: services get a typed ServiceContext, not
    the Runtime, so the service seam does not name the runtime."""
    assert _cycles(_kernel_graph()) == []


def test_the_composition_root_holds_no_any() -> None:
    """issue 11: registry.load is typed per kind and Runtime's adapter fields are typed: no
    ``Any`` in either module."""
    for module in ("registry.py", "runtime.py"):
        tree = ast.parse((KERNEL / module).read_text())
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert "Any" not in names and "Any" not in attrs, module


def _doc_paths(text: str) -> list[str]:
    """Every file or folder docs/architecture.md names: ``a/b.py`` or ``a/b/`` from the
    repository's root, and a bare ``c.py`` or ``c/`` in the folder of the last path named
    before it (``kernel/adapter_kit/threaded.py · handoff.py``)."""
    found: list[str] = []
    base = ""
    for line in text.splitlines():
        for token in re.findall(r"[A-Za-z_][\w./-]*", line):
            token = token.rstrip(".")
            inner = token.rstrip("/")
            if "/" in inner:
                found.append(token)
                base = token if token.endswith("/") else token.rsplit("/", 1)[0] + "/"
            elif token.endswith("/") and (REPO / token).is_dir():
                found.append(token)
                base = token
            elif token.endswith((".py", "/")) and base:
                found.append(base + token)
    return found


def test_architecture_doc_names_only_files_that_exist() -> None:
    """docs/architecture.md's picture names the files of each step: kept true here."""
    text = (REPO / "docs" / "architecture.md").read_text()
    paths = _doc_paths(text)
    assert len(paths) > 30
    missing = [p for p in paths if not (REPO / p).exists()]
    assert missing == []
    for package in ("kernel/", "adapters/", "mobile_api/", "evaluation/", "demo/", "modelkit/"):
        assert f"`{package}`" in text, package
