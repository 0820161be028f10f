"""Issue 15, done-when 1 in real Chromium: the live pipeline plays a looping clip in which the
one listed person passes again and again (obama2 and obama3 of one entry, every ~3 s), with
the shipped episode window. The operator's console shows one episode (one queue item) with
three sightings; one confirm; the officer's page gets one alert; a later sighting waits in the
console as "seen again" and reaches the officer, as an update of that alert's card, only after
the operator's one-key confirm (R5). Candidates come through the real pipeline, not the
domain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pwa.live_runtime import LiveRuntime
from tests.pwa.test_pwa_e2e import TABLET, login, shoot, status_of

WAIT_MS = 45_000


@pytest.fixture(scope="module")
def live(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRuntime]:
    runtime = LiveRuntime(tmp_path_factory.mktemp("pwa-episodes"), models_dir,
                          episode_window_s=None)
    try:
        yield runtime
    finally:
        runtime.close()


def _outbox(live: LiveRuntime) -> list[str]:
    gov = live.runtime.governance
    assert gov is not None
    return [n.alert_id for n in live.call(gov.outbox.pending(0))]


def test_one_episode_three_sightings_one_alert_then_seen_again_after_confirm(
        live: LiveRuntime, browser: Any, artifacts: Path) -> None:
    officer = browser.new_context(viewport=TABLET)
    ofc = officer.new_page()
    login(ofc, live.url, "ofc")
    ofc.wait_for_selector("#status[data-state=live]")
    operator = browser.new_context(viewport=TABLET)
    op = operator.new_page()
    login(op, live.url, "op")
    # three passes of the one person: one queue item, its episode listing three sightings
    op.wait_for_function(
        "() => document.querySelectorAll('.episode .sightings li').length >= 3",
        timeout=WAIT_MS)
    assert op.locator(".queue button[data-id]").count() == 1
    assert "sightings" in op.inner_text(".queue button[aria-current=true]")
    lead = op.get_attribute(".queue button[aria-current=true]", "data-id")
    assert lead
    shoot(op, artifacts, "15-console-episode", "console-episode.png")
    # R5: nothing of it on the officer's page or API before the operator decides
    assert ofc.locator("ol.alerts > li").count() == 0
    assert status_of(ofc, f"/api/alerts/{lead}") == 404
    assert _outbox(live) == []

    op.keyboard.press("c")
    ofc.wait_for_selector(f"ol.alerts > li[data-id='{lead}']", timeout=30_000)
    assert ofc.locator("ol.alerts > li").count() == 1
    assert _outbox(live) == [lead]

    # the next pass: held in the console as "seen again", not on the officer's page
    again_button = op.locator(".queue button[data-id]", has_text="seen again").first
    again_button.wait_for(timeout=WAIT_MS)
    again = again_button.get_attribute("data-id")
    assert again and again != lead
    assert status_of(ofc, f"/api/alerts/{again}") == 404
    assert ofc.locator(".seen-again").count() == 0
    assert _outbox(live) == [lead]

    again_button.click()
    op.wait_for_selector(f".queue button[aria-current=true][data-id='{again}']")
    op.wait_for_selector(".decide .seen-again")
    op.keyboard.press("c")  # the one-key confirm
    ofc.wait_for_selector(f"ol.alerts > li[data-id='{lead}'] .seen-again", timeout=30_000)
    assert "Seen again at camera gate-1" in ofc.inner_text(f"li[data-id='{lead}'] .seen-again")
    assert ofc.locator("ol.alerts > li").count() == 1  # an update, not a second alert
    assert "Seen again" in ofc.inner_text(".banner")
    assert _outbox(live) == [lead, again]
    shoot(ofc, artifacts, "15-officer-seen-again")
    gov = live.runtime.governance
    assert gov is not None
    [episode] = live.call(gov.alerts.episodes(live.deployment))
    assert episode.state == "confirmed" and episode.alert_id == lead
    assert len(episode.sightings) >= 4
    officer.close()
    operator.close()
