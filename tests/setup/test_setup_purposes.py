"""Issue 12, finding 13: ``scripts/setup.sh run`` (``make run``) installs no dev, test or bench
tool, and no purpose installs a distribution outside the project's extras.

Two checks: what setup.sh asks pip for per purpose (the extras in its ``case``, and that every
``pip install`` it runs is the project itself), and the requirement closure of those extras
over the distributions installed here (a runtime dependency pulling pytest would show)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / "scripts" / "setup.sh"
TOOLS = {canonicalize_name(n) for n in (
    "pytest", "pytest-asyncio", "pytest-timeout", "playwright", "schemathesis", "py-spy",
    "ruff", "mypy", "hypothesis", "faiss-cpu", "dlib-bin")}
"""Dev, test and bench tools (and the baseline's dlib): never in a run or demo venv."""


def extras_by_purpose() -> dict[str, set[str]]:
    """setup.sh's ``case "$purpose"`` table: purpose → the extras it installs."""
    text = SETUP.read_text()
    table = text[text.index('case "$purpose" in'):]
    table = table[:table.index("esac")]
    found = {}
    for pattern, extras in re.findall(r'^\s*([\w*|]+)\) extras="([^"]*)"', table, re.M):
        names = set(re.findall(r"[\w-]+", extras))
        for purpose in pattern.split("|"):
            found[purpose] = names
    return found


def closure(extras: set[str]) -> set[str]:
    """Every distribution ``pinchpoint[extras]`` requires, transitively, among those
    installed here (markers evaluated; a requirement not installed ends its branch)."""
    seen: set[str] = set()
    todo: list[tuple[str, set[str]]] = [("pinchpoint", extras)]
    while todo:
        name, wanted = todo.pop()
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker is not None and not any(
                    req.marker.evaluate({"extra": e}) for e in (wanted or {""})):
                continue
            key = canonicalize_name(req.name)
            if key not in seen:
                seen.add(key)
                todo.append((req.name, set(req.extras)))
    return seen


def test_issue12_finding13_setup_purposes_and_their_extras() -> None:
    table = extras_by_purpose()
    assert table["run"] == set() and table["demo"] == {"eval"}
    assert {"dev", "baseline", "bench"} <= table["*"]
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert set().union(*table.values()) <= set(declared["optional-dependencies"])
    runtime = {canonicalize_name(Requirement(r).name) for r in declared["dependencies"]}
    assert not runtime & TOOLS, runtime & TOOLS
    for extra in table["run"] | table["demo"]:
        names = {canonicalize_name(Requirement(r).name)
                 for r in declared["optional-dependencies"][extra]}
        assert not names & TOOLS, (extra, names & TOOLS)


def test_issue12_finding13_setup_installs_only_the_project() -> None:
    """Every ``pip install`` in setup.sh is the project with its extras (or pip itself): the
    two distributions it used to add with ``--no-deps`` are taken from wheels instead, and
    the baseline's only for test and bench."""
    text = SETUP.read_text()
    installs = re.findall(r'pip" install ([^\n]*)', text)
    assert installs and all(i in ('-q --upgrade pip', '-q -e ".${extras}"') for i in installs), \
        installs
    vendor = text[text.index("vendor_args=()"):text.rindex("vendor_sources.py")]
    assert re.fullmatch(r'vendor_args=\(\)\nif \[ "\$purpose" = test \] \|\| '
                        r'\[ "\$purpose" = bench \]; then\n  vendor_args\+=\(--baseline\)\n'
                        r'fi\n"\$VENV/bin/python" scripts/', vendor), vendor


@pytest.mark.parametrize("purpose", ["run", "demo"])
def test_issue12_finding13_run_and_demo_pull_no_tool(purpose: str) -> None:
    """The closure of the run and demo extras over this venv's metadata has no dev, test or
    bench tool (this venv is a test venv: the tools are installed, so a path to one shows)."""
    if not {"pytest", "ruff"} <= {canonicalize_name(d.metadata["Name"])
                                  for d in metadata.distributions()}:
        pytest.skip("not a test venv: the tools are not installed, so no path to them shows")
    pulled = closure(extras_by_purpose()[purpose])
    assert "numpy" in pulled and "litestar" in pulled  # the closure is real
    assert not pulled & TOOLS, pulled & TOOLS
