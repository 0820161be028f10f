"""The PWA's Content-Security-Policy in a real Chromium (issue 12): it holds against inline
script, and the browser fixture's violation check sees it (so the PWA tests can fail on one)."""

from __future__ import annotations

from tests.pwa.conftest import CspWatchedBrowser
from tests.pwa.live_runtime import LiveRuntime


def test_issue12_csp_blocks_inline_script_and_the_fixture_sees_it(
        live: LiveRuntime, browser: CspWatchedBrowser) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{live.url}/")
        page.evaluate("""() => {
            const s = document.createElement('script');
            s.textContent = 'window.__injected = true';
            document.body.append(s);
        }""")
        page.wait_for_function("() => document.readyState === 'complete'")
        assert page.evaluate("() => window.__injected === undefined")  # it never ran
        framed = page.evaluate("""() => new Promise((done) => {
            const f = document.createElement('iframe');
            f.src = '/';
            f.onload = () => { try { done(f.contentDocument === null ||
                                         f.contentDocument.body.children.length === 0); }
                               catch (e) { done(true); } };
            document.body.append(f);
        })""")
        assert framed  # frame-ancestors 'none': not even its own origin may frame it
    finally:
        context.close()
    seen = [v for v in browser.violations if "inline" in v or "script-src" in v]
    assert seen, browser.violations
    browser.violations.clear()  # expected here; any other test's would fail it
