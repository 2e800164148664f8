"""`make screenshots`: every participant page at 1280 px and at 360 px, into docs/screenshots/.

Runs on a stack of its own (emulators on free ports, the API with the built pages under
uvicorn, Debian's Chromium), with a designed webcast, its published VOD, a published question
and an open poll.
"""

import contextlib
import json
import socket
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
WIDTHS = {"desktop": 1280, "360px": 360}


def _shoot(page: Page, name: str) -> None:
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        page.screenshot(path=str(OUT / f"{name}-{label}.png"), full_page=True)
        print(f"   {name}-{label}.png", flush=True)


def main() -> None:
    from devtools import web_build
    from devtools.emulators import isolated_stack
    from tests import browser, helpers, media_pipeline
    from tests.e2e.test_participant_pages import DESIGN, designed_webcast

    OUT.mkdir(parents=True, exist_ok=True)
    web_build.ensure_built()
    with contextlib.ExitStack() as running:
        sock: socket.socket = running.enter_context(browser.reserve_socket())
        extra = {
            "WEBCAST_ALLOWED_ORIGINS": json.dumps([browser.origin_of(sock)]),
            "WEBCAST_MEDIA_LADDER": "tiny",
            "WEBCAST_MEDIA_X264_PRESET": "ultrafast",
        }
        env = running.enter_context(isolated_stack(label="shots", extra=extra))[1]
        folder = Path(running.enter_context(tempfile.TemporaryDirectory(prefix="shots-")))
        owner = helpers.new_owner("screenshots")
        design = json.loads(json.dumps(DESIGN))
        design["blocks"][1]["texts"]["en"]["body"] = (
            "## About the keynote\n\nThe year in **one hour**: what we built, what comes next, "
            "and your questions. [The programme](https://example.org/programme)."
        )
        clip = media_pipeline.make_clip(folder / "clip.mp4")
        webcast_id = designed_webcast(owner, clip, design)
        app = browser.harness_app(browser.blob_origin(env["WEBCAST_STORAGE_CONNECTION_STRING"]))
        base = running.enter_context(browser.serve(app, sock))
        chromium = running.enter_context(browser.chromium())
        page = chromium.new_context(locale="en-US").new_page()

        page.goto(f"{base}/")
        _shoot(page, "landing")
        page.goto(f"{base}/w/{webcast_id}")
        form = page.get_by_role("region", name="Registration")
        expect(form).to_be_visible()
        _shoot(page, "registration")
        form.get_by_label("E-mail address").fill(helpers.unique_email("shots"))
        form.get_by_role("button", name="Register").click()
        expect(form.get_by_label("Company")).to_have_attribute("aria-invalid", "true")
        _shoot(page, "registration-error")
        form.get_by_label("Company").fill("Example GmbH")
        form.get_by_label("I accept the privacy notice (v1)").check()
        form.get_by_role("button", name="Register").click()
        expect(page.locator("video")).to_be_visible()
        page.get_by_label("Your question").fill("Will the slides be online?")
        page.get_by_role("button", name="Send").click()
        queue = owner.get(f"/api/webcasts/{webcast_id}/messages").json()["items"]
        owner.patch(
            f"/api/webcasts/{webcast_id}/messages/{queue[0]['id']}", json={"published": True}
        )
        poll = {
            "title": "How did you hear of us?",
            "questions": [
                {
                    "id": "source",
                    "type": "single_choice",
                    "text": "How did you hear of us?",
                    "options": [{"id": "mail", "label": "E-mail"}, {"id": "web", "label": "Web"}],
                }
            ],
        }
        poll_id = owner.post(f"/api/webcasts/{webcast_id}/polls", json=poll).json()["id"]
        owner.post(f"/api/webcasts/{webcast_id}/polls/{poll_id}/open", json={})
        expect(page.locator(".feed")).to_contain_text("Will the slides", timeout=30_000)
        expect(page.locator(".poll")).to_be_visible(timeout=30_000)
        page.locator("video").focus()
        page.keyboard.press("k")
        page.wait_for_function("() => document.querySelector('video').currentTime > 1")
        page.keyboard.press("k")
        _shoot(page, "watching")
        page.get_by_label("Language").select_option("de")
        _shoot(page, "watching-de")
        page.goto(f"{base}/w/{webcast_id}/password-reset")
        expect(page.get_by_role("button", name="Send reset link")).to_be_visible()
        _shoot(page, "password-reset")
        page.goto(f"{base}/w/{webcast_id}/privacy")
        expect(page.get_by_role("heading", name="Your data")).to_be_visible()
        _shoot(page, "privacy")
    print(f"written to {OUT.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
