"""What the participant page tests share: axe-core in a page or frame, the cookie and storage
checks of P25, and waiting for what the page shows."""

from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Frame, Page

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, what the pages promise.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


def axe_violations(target: Page | Frame) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations in the page (or frame) as it is now.

    The script goes in through the DevTools protocol (not a <script> tag, which the pages'
    `script-src 'self'` would refuse), so the policy under test stays as it is."""
    if not target.evaluate("() => typeof window.axe !== 'undefined'"):
        target.evaluate(AXE.read_text())
    found: list[dict[str, Any]] = target.evaluate(
        "async (tags) => (await axe.run(document, { runOnly: { type: 'tag', values: tags } }))"
        ".violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map((n) => n.target.join(' ')) }))",
        AXE_TAGS,
    )
    return [violation for violation in found if violation["impact"] in BLOCKING]


def assert_accessible(target: Page | Frame, where: str) -> None:
    violations = axe_violations(target)
    assert violations == [], f"axe on {where}: {violations}"


def assert_only_session_cookies(context: BrowserContext, personal: list[str]) -> None:
    """P25: every cookie is a `__Host-` session cookie (no expiry) holding a random id only."""
    cookies = context.cookies()
    assert cookies, "signed in, so there is a session cookie"
    for cookie in cookies:
        assert cookie["name"].startswith("__Host-"), cookie
        assert cookie["expires"] == -1, f"a session cookie has no expiry: {cookie}"
        assert cookie["httpOnly"] and cookie["secure"], cookie
        assert cookie["path"] == "/", cookie
        value = cookie["value"]
        assert len(value) >= 32 and value.replace("-", "").replace("_", "").isalnum(), cookie
        for each in personal:
            assert each.lower() not in value.lower(), cookie


def assert_storage_holds_nothing_personal(target: Page | Frame, personal: list[str]) -> None:
    """P25: neither localStorage nor sessionStorage holds anything identifying (a framed page
    of another site may be denied both: then it cannot hold anything either)."""
    stored: dict[str, dict[str, str]] = target.evaluate(
        "() => { try { return { local: { ...localStorage }, session: { ...sessionStorage } }; }"
        " catch (denied) { return { local: {}, session: {} }; } }"
    )
    text = repr(stored).lower()
    for each in personal:
        assert each.lower() not in text, stored
    assert stored == {"local": {}, "session": {}}, stored


def video_time(target: Page | Frame) -> float:
    return float(target.evaluate("() => document.querySelector('video')?.currentTime ?? 0"))


def active_cues(target: Page | Frame) -> list[str]:
    """The caption cues on screen now, from every showing text track of the video."""
    cues: list[str] = target.evaluate(
        "() => [...document.querySelector('video').textTracks]"
        ".filter((t) => t.mode === 'showing')"
        ".flatMap((t) => [...(t.activeCues || [])].map((c) => c.text))"
    )
    return cues
