"""Issue 11: the API goes through the domain. No module of ``mobile_api`` opens a store
transaction or reaches a repository: R5 visibility, a rejection with its reason, push
subscriptions and the live feed's reads are domain calls (``kernel.domain``)."""

from __future__ import annotations

import re
from pathlib import Path

API = Path(__file__).resolve().parents[2] / "mobile_api"
FORBIDDEN = re.compile(r"\.transaction\(|\btx\.|StoreTx|kernel\.protocols\.store")


def test_mobile_api_opens_no_store_transaction() -> None:
    offenders = [f"{path.relative_to(API.parent)}:{n}: {line.strip()}"
                 for path in sorted(API.rglob("*.py"))
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if FORBIDDEN.search(line)]
    assert offenders == []
