"""The participant pages in Chromium against the real stack: register with a field left empty
first, watch the published VOD with captions, reload and still post, ask, answer a poll and
see its results, a moderator's publish in the feed, a heartbeat in the attendance report;
a live stream with its recording notice; the page framed by another origin through the
embed token; a personal link and a password reset; a public webcast that stores no
participant. axe-core runs on every page."""

import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from devtools.emulators import Emulators
from devtools.mailsink import MailSink
from shared.config import get_settings
from shared.tracking.settings import QUEUE_SHARDS
from tests import helpers, media_pipeline
from tests.e2e import pages
from tests.live_ingest import Ingest, running_ingest

REFRESH_SECONDS = 2
LIVE_SECONDS = 30
WAIT_MS = 30_000
FORM = {
    "fields": [
        {"id": "intro", "type": "display_text", "label": "Welcome to the keynote."},
        {"id": "company", "type": "short_text", "label": "Company", "required": True},
        {"id": "country", "type": "country", "label": "Country"},
        {
            "id": "track",
            "type": "single_choice",
            "label": "Track",
            "options": [{"id": "tech", "label": "Technology"}, {"id": "biz", "label": "Business"}],
        },
        {
            "id": "privacy",
            "type": "consent",
            "label": "I accept the privacy notice (v1)",
            "required": True,
        },
    ]
}
# A tenant's rich text that tries to run script on the pages' origin.
HOSTILE_TEXT = (
    "## About the keynote\n\n<script>window.pwned = true</script> "
    '[Open the agenda](javascript:window.pwned=true) and <img src=x onerror="window.pwned=true">'
    " and [the programme](https://example.org/programme)"
)
DESIGN = {
    "theme": {"background": "#fdfcf7", "text": "#1d1d1b", "accent": "#8a1538", "font": "serif"},
    "blocks": [
        {"id": "intro", "kind": "intro", "texts": {"en": {"heading": "Keynote 2027"}}},
        {"id": "about", "kind": "rich_text", "texts": {"en": {"body": HOSTILE_TEXT}}},
        {
            "id": "agenda",
            "kind": "agenda",
            "agenda": [{"starts_at": "10:00", "title": {"en": "Welcome", "de": "Begrüßung"}}],
        },
        {"id": "speakers", "kind": "speakers", "speakers": [{"id": "ada", "name": "Ada Lovelace"}]},
        {"id": "entry", "kind": "entry"},
        {"id": "player", "kind": "player", "states": ["live", "on_demand", "ended"]},
        {"id": "messages", "kind": "messages", "states": ["live", "on_demand"]},
        {"id": "poll", "kind": "poll", "states": ["live", "on_demand"]},
        {"id": "legal", "kind": "legal", "imprint_url": "https://example.org/imprint"},
    ],
}
TRACKING = helpers.Triggers({f"tracking_heartbeats_{shard}" for shard in range(QUEUE_SHARDS)})
MAIL = helpers.Triggers({"send_mail"})


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return media_pipeline.make_clip(tmp_path_factory.mktemp("pages") / "talk.mp4")


@pytest.fixture(autouse=True)
def quick_refresh(stack: Emulators) -> Iterator[None]:
    """Pages ask every 2 s, and attendance reports are not cached, so a test waits less."""
    saved = os.environ.get("WEBCAST_TRACKING_REPORT_MAX_AGE_SECONDS")
    os.environ["WEBCAST_TRACKING_REPORT_MAX_AGE_SECONDS"] = "0"
    with helpers.changed_settings(viewer_refresh_seconds=REFRESH_SECONDS):
        yield
    if saved is None:
        os.environ.pop("WEBCAST_TRACKING_REPORT_MAX_AGE_SECONDS")
    else:
        os.environ["WEBCAST_TRACKING_REPORT_MAX_AGE_SECONDS"] = saved


def _context(chromium: Browser, **options: Any) -> BrowserContext:
    context = chromium.new_context(locale="en-US", **options)
    context.set_default_timeout(WAIT_MS)
    return context


def _page(context: BrowserContext) -> tuple[Page, list[str]]:
    """A tab, and the errors its scripts throw (a failing test names them)."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def with_images(owner: helpers.Admin, webcast_id: str, design: dict[str, Any]) -> dict[str, Any]:
    """The design with a logo, a background image and the first speaker's photo uploaded."""
    theme = design["theme"] | {
        "logo": helpers.page_image(
            owner, webcast_id, "logo", size=(240, 80), colour=(138, 21, 56), label="Example"
        ),
        "logo_alt": {"en": "Example Keynote", "de": "Beispiel-Keynote"},
        "background_image": helpers.page_image(
            owner, webcast_id, "background", size=(640, 400), colour=(230, 225, 210)
        ),
    }
    blocks = [dict(block) for block in design["blocks"]]
    for block in blocks:
        if block["kind"] == "speakers":
            first, *others = block["speakers"]
            photo = helpers.page_image(owner, webcast_id, "speaker", size=(200, 200), label="AL")
            block["speakers"] = [first | {"photo": photo}, *others]
    return {"theme": theme, "blocks": blocks}


def designed_webcast(owner: helpers.Admin, clip: bytes, design: dict[str, Any] = DESIGN) -> str:
    """A registration webcast in English and German with its modules on, a published VOD and
    a published design; its id."""
    webcast_id = helpers.new_webcast(
        owner,
        title="Keynote 2027",
        description="The yearly keynote.",
        language="en",
        additional_languages=["de"],
        access_mode="registration",
        admit_before_confirmation=True,
        modules={"message_box": True, "polls": True, "tracking": True},
        form=FORM,
    )
    media_pipeline.publish_clip(owner, webcast_id, clip)
    design = with_images(owner, webcast_id, design)
    saved = owner.request("PUT", f"/api/webcasts/{webcast_id}/design", json=design)
    assert saved.status_code == 200, saved.text
    assert owner.post(f"/api/webcasts/{webcast_id}/design/publish").status_code == 200
    return webcast_id


def _open_poll(owner: helpers.Admin, webcast_id: str) -> str:
    created = owner.post(
        f"/api/webcasts/{webcast_id}/polls",
        json={
            "title": "Which part was best?",
            "questions": [
                {
                    "id": "best",
                    "type": "single_choice",
                    "text": "Which part was best?",
                    "options": [
                        {"id": "demo", "label": "The demo"},
                        {"id": "qa", "label": "The Q&A"},
                    ],
                }
            ],
        },
    )
    assert created.status_code == 201, created.text
    poll_id = str(created.json()["id"])
    opened = owner.post(f"/api/webcasts/{webcast_id}/polls/{poll_id}/open", json={})
    assert opened.status_code == 200, opened.text
    return poll_id


def _published_message(owner: helpers.Admin, webcast_id: str, text: str) -> None:
    queue = owner.get(f"/api/webcasts/{webcast_id}/messages").json()["items"]
    [message] = [m for m in queue if m["text"] == text]
    published = owner.patch(
        f"/api/webcasts/{webcast_id}/messages/{message['id']}", json={"published": True}
    )
    assert published.status_code == 200, published.text


@pytest.mark.claim("P25")
@pytest.mark.claim("P36")
def test_a_participant_registers_watches_asks_and_answers(
    chromium: Browser, api_server: str, clip: bytes
) -> None:
    owner = helpers.new_owner("pages")
    webcast_id = designed_webcast(owner, clip)
    email = helpers.unique_email("page-viewer")
    context = _context(chromium)
    page, errors = _page(context)
    page.goto(f"{api_server}/w/{webcast_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Keynote 2027")
    expect(page.get_by_role("heading", name="Registration")).to_be_visible()
    # The designed page: its blocks in order, the tenant's text inert.
    expect(page.get_by_role("heading", name="About the keynote")).to_be_visible()
    expect(page.get_by_text("Ada Lovelace")).to_be_visible()
    # Its images, from the re-encoded copies, under the page's strict policy.
    logo = page.get_by_role("img", name="Example Keynote")
    expect(logo).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.logo, .speakers .photo')]"
        ".every((image) => image.complete && image.naturalWidth > 0)"
    )
    assert page.evaluate("() => getComputedStyle(document.body).backgroundImage").startswith(
        'url("'
    )
    expect(page.get_by_role("link", name="Imprint")).to_have_attribute(
        "href", "https://example.org/imprint"
    )
    about = page.locator(".rich-text", has_text="About the keynote")
    expect(about).to_contain_text("<script>window.pwned = true</script>")
    assert about.locator("script, img, [onerror]").count() == 0
    assert [link.get_attribute("href") for link in about.get_by_role("link").all()] == [
        "https://example.org/programme"
    ]
    assert page.evaluate("() => window.pwned") is None
    assert page.evaluate("() => document.body.classList.contains('font-serif')")
    pages.assert_accessible(page, "the registration page")

    # The required company left empty: the API's error shows at that field.
    form = page.get_by_role("region", name="Registration")
    form.get_by_label("E-mail address").fill(email)
    form.get_by_label("I accept the privacy notice (v1)").check()
    form.get_by_role("button", name="Register").click()
    company = form.get_by_label("Company")
    expect(company).to_have_attribute("aria-invalid", "true")
    expect(company).to_be_focused()
    described = company.get_attribute("aria-describedby") or ""
    expect(page.locator(f"#{described.split()[-1]}")).to_have_text("Please fill in this field.")
    pages.assert_accessible(page, "the registration page with an error")

    company.fill("Example GmbH")
    form.get_by_label("Country").select_option("NL")
    form.get_by_role("button", name="Register").click()

    # The published VOD plays: frames advance, by keyboard.
    video = page.locator("video")
    expect(video).to_be_visible()
    expect(page.get_by_label("Captions")).to_be_visible()
    video.focus()
    page.keyboard.press("k")
    page.wait_for_function("() => document.querySelector('video').currentTime > 1")
    first = pages.video_time(page)
    page.wait_for_function(f"() => document.querySelector('video').currentTime > {first + 1}")
    # Captions are a choice of their own.
    page.get_by_label("Captions").select_option(label="Deutsch")
    page.wait_for_function(
        "() => [...document.querySelector('video').textTracks].some("
        "(t) => t.mode === 'showing' && t.activeCues && t.activeCues.length > 0)"
    )
    assert set(pages.active_cues(page)) <= media_pipeline.CUES
    pages.assert_accessible(page, "the player page")
    pages.assert_only_session_cookies(context, [email, "Example"])
    pages.assert_storage_holds_nothing_personal(page, [email, "Example"])

    # The heartbeat sent while it played reaches the attendance report.
    TRACKING.drain()
    report = owner.get(f"/api/webcasts/{webcast_id}/attendance").json()
    assert report["unique_viewers"] == 1 and report["vod_minutes"] > 0, report

    # After a reload the session holds, and a question goes out (its CSRF token came back).
    page.reload()
    question = f"When is the next keynote? {uuid.uuid4().hex[:6]}"
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Your question has been sent.")).to_be_visible()
    expect(page.locator(".own-messages")).to_contain_text(question)

    # The moderator publishes it: it appears in the feed, announced to screen readers.
    _published_message(owner, webcast_id, question)
    expect(page.locator(".feed")).to_contain_text(question)
    page.locator(".feed").get_by_role("button", name=re.compile("Vote up")).click()
    expect(page.locator(".feed").get_by_role("button", name=re.compile("Voted"))).to_be_disabled()

    # A poll opens: the page shows it, takes one answer, and the results once shown.
    poll_id = _open_poll(owner, webcast_id)
    poll = page.locator(".poll")
    expect(poll).to_contain_text("Which part was best?")
    poll.get_by_label("The demo").check()
    poll.get_by_role("button", name="Submit").click()
    expect(poll.get_by_text("Thank you, your answer has been saved.")).to_be_visible()
    expect(poll.get_by_role("button", name="Submit")).to_have_count(0)
    shown = owner.request(
        "PUT",
        f"/api/webcasts/{webcast_id}/polls/{poll_id}/results-visibility",
        json={"shown": True},
    )
    assert shown.status_code == 200, shown.text
    expect(poll.locator(".results")).to_contain_text("1 answers", timeout=60_000)
    pages.assert_accessible(page, "the page with messages and a poll")

    # German on request: the switcher changes the page's language.
    page.get_by_label("Language").select_option("de")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", name="Fragen", exact=True)).to_be_visible()
    assert errors == []
    context.close()


def _embed_token(secret: str, webcast_id: str) -> str:
    issued = int(time.time())
    claims = {"aud": webcast_id, "iat": issued, "exp": issued + 120, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.claim("P25")
@pytest.mark.claim("P36")
def test_a_public_webcast_framed_by_another_origin_stores_no_participant(
    chromium: Browser, api_server: str
) -> None:
    owner = helpers.new_owner("pages-embed")
    host_origin = api_server.replace("127.0.0.1", "localhost")
    webcast_id = helpers.new_webcast(
        owner,
        slug="town-hall",
        title="Framed town hall",
        language="en",
        modules={"message_box": True},
    )
    embedding = owner.request(
        "PUT",
        f"/api/webcasts/{webcast_id}/embed",
        json={"enabled": True, "allowed_origins": [host_origin]},
    )
    assert embedding.status_code == 200, embedding.text
    secret = owner.post(f"/api/webcasts/{webcast_id}/embed/secret").json()["secret"]

    # Framed by the customer's site (another origin) with the snippet the API hands out,
    # the page trades the token from its address for the embed session and takes part.
    snippet = embedding.json()["snippet"]
    public = get_settings().public_base_url.rstrip("/")
    assert f'src="{public}/embed/{webcast_id}#token={{EMBED_TOKEN}}"' in snippet
    snippet = snippet.replace(public, api_server).replace(
        "{EMBED_TOKEN}", quote(_embed_token(secret, webcast_id))
    )
    context = _context(chromium)
    page, errors = _page(context)
    page.goto(f"{host_origin}/_harness/embed-host.html?{urlencode({'snippet': snippet})}")
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Framed town hall")
    frame.get_by_label("Your question").fill("A question from the framed page")
    frame.get_by_role("button", name="Send").click()
    expect(frame.get_by_text("Your question has been sent.")).to_be_visible()
    [inner] = [f for f in page.frames if f.url.startswith(f"{api_server}/embed/")]
    assert "token" not in inner.url, "the token left the frame's address"
    assert page.locator("iframe").get_attribute("referrerpolicy") == "no-referrer"
    pages.assert_accessible(inner, "the framed page")
    pages.assert_only_session_cookies(context, [])
    pages.assert_storage_holds_nothing_personal(inner, [])
    context.close()

    # Opened directly by its readable address, the public page asks for nothing and stores
    # no participant.
    tenant_slug = f"town-{uuid.uuid4().hex[:8]}"
    named = owner.request("PUT", "/api/account/slug", json={"slug": tenant_slug})
    assert named.status_code == 200, named.text
    context = _context(chromium)
    page, more_errors = _page(context)
    page.goto(f"{api_server}/p/{tenant_slug}/town-hall")
    expect(page.get_by_role("heading", level=1)).to_have_text("Framed town hall")
    expect(page.get_by_text("No personal data is asked for or stored")).to_be_visible()
    pages.assert_accessible(page, "the public entry")
    page.get_by_role("button", name="Enter the webcast").click()
    expect(page.get_by_label("Your question")).to_be_visible()
    pages.assert_only_session_cookies(context, [])
    assert helpers.stored_participants(webcast_id) == []
    assert errors == [] and more_errors == []
    context.close()


@pytest.fixture(scope="module")
def page_ingest(api_server: str) -> Iterator[Ingest]:
    """The live ingest reporting to the API that serves the pages."""
    with running_ingest(api_server) as running:
        yield running


@pytest.mark.claim("P36")
def test_a_live_stream_plays_on_the_page_with_its_recording_notice(
    chromium: Browser, api_server: str, page_ingest: Ingest
) -> None:
    owner = helpers.new_owner("pages-live")
    webcast_id = helpers.new_webcast(
        owner, title="Live town hall", language="en", modules={"tracking": True}
    )
    key = owner.post(f"/api/webcasts/{webcast_id}/live", json={"record": True}).json()["stream_key"]
    context = _context(chromium)
    page, errors = _page(context)
    page.goto(f"{api_server}/w/{webcast_id}")
    page.get_by_role("button", name="Enter the webcast").click()
    # Open before the encoder starts: the page waits, then plays the stream once it is live.
    expect(page.get_by_text("There is no video yet.")).to_be_visible()
    encoder = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re"]
    encoder += ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"]
    encoder += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    encoder += ["-t", str(LIVE_SECONDS), "-c:v", "libx264", "-preset", "veryfast", "-g", "25"]
    encoder += ["-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", page_ingest.url(key)]
    pusher = subprocess.Popen(encoder, stdin=subprocess.DEVNULL)
    try:
        expect(page.get_by_text("This live stream is being recorded.")).to_be_visible()
        video = page.locator("video")
        expect(video).to_be_visible()
        video.focus()
        page.keyboard.press("k")
        page.wait_for_function("() => document.querySelector('video').currentTime > 1")
        first = pages.video_time(page)
        page.wait_for_function(f"() => document.querySelector('video').currentTime > {first + 1}")
        pages.assert_accessible(page, "the live page")
        # Heartbeats while it plays count as live minutes.
        page.wait_for_timeout(1000)
        TRACKING.drain()
        report = owner.get(f"/api/webcasts/{webcast_id}/attendance").json()
        assert report["live_minutes"] > 0, (report, page_ingest.output())
    finally:
        pusher.kill()
        pusher.wait(timeout=10)
    assert errors == []
    context.close()


def _mailed_link(mail_sink: MailSink, address: str, path: str, key: str = "token") -> str:
    """`path` with the `#{key}=` of the newest mail to `address` that links to it (mails
    name the configured public address; the test server listens elsewhere)."""
    deadline = time.monotonic() + 30
    pattern = re.compile(rf"https?://[^/\s]+({re.escape(path)}#{key}=[A-Za-z0-9._~%-]+)")
    while time.monotonic() < deadline:
        MAIL.drain()
        for message in reversed(mail_sink.to(address)):
            body = message.get_body(("plain",))
            found = pattern.search(body.get_content() if body is not None else "")
            if found:
                return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no mail to {address} with a link to {path}")


@pytest.mark.claim("P25")
def test_a_personal_link_and_a_password_reset_work(
    chromium: Browser, api_server: str, mail_sink: MailSink
) -> None:
    owner = helpers.new_owner("pages-login")
    webcast_id = helpers.new_webcast(
        owner, title="Board meeting", language="en", access_mode="login"
    )
    email = helpers.unique_email("invited")
    created = owner.post(
        f"/api/webcasts/{webcast_id}/participants", json={"email": email, "answers": {}}
    )
    assert created.status_code == 201, created.text
    participant_id = created.json()["id"]
    queued = owner.post(
        f"/api/webcasts/{webcast_id}/invitations", json={"participant_ids": [participant_id]}
    )
    assert queued.status_code == 202, queued.text
    link = _mailed_link(mail_sink, email, f"/w/{webcast_id}")

    context = _context(chromium)
    page, errors = _page(context)
    page.goto(api_server + link)
    expect(page.locator(".notice")).to_be_visible()
    expect(page).not_to_have_url(re.compile("token"))
    pages.assert_only_session_cookies(context, [email])
    context.close()

    # Forgotten password: the reset page mails a link; the link sets a new password, which
    # then signs in.
    context = _context(chromium)
    page, more_errors = _page(context)
    page.goto(f"{api_server}/w/{webcast_id}")
    page.get_by_role("link", name="Forgot your password?").click()
    pages.assert_accessible(page, "the password reset page")
    page.get_by_label("User name or e-mail address").fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_text("we have sent an e-mail with a link")).to_be_visible()
    reset = _mailed_link(mail_sink, email, f"/w/{webcast_id}/password-reset")
    page.goto(api_server + reset)
    expect(page).not_to_have_url(re.compile("token"))
    new_password = f"a new passphrase {uuid.uuid4().hex[:8]}"
    page.get_by_label("New password").fill(new_password)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_text("Your password has been changed.")).to_be_visible()
    page.get_by_role("link", name="Back to the webcast").click()
    page.get_by_label("User name or e-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(new_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".notice")).to_be_visible()
    pages.assert_accessible(page, "the signed-in page")
    assert errors == [] and more_errors == []
    context.close()


def test_the_pages_are_static_under_a_strict_policy(api_server: str) -> None:
    """One document for every webcast, cacheable, under `script-src 'self'`."""
    first = httpx.get(f"{api_server}/w/{uuid.uuid4().hex}")
    second = httpx.get(f"{api_server}/w/{uuid.uuid4().hex}/privacy")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    policy = first.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert first.headers["cache-control"].startswith("public")
    assert "<script" in first.text and not re.search(r"<script(?![^>]*\bsrc=)", first.text)
    unchanged = httpx.get(f"{api_server}/w/x", headers={"If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304
    asset = re.search(r'src="(/assets/[^"]+\.js)"', first.text)
    assert asset, first.text
    script = httpx.get(f"{api_server}{asset.group(1)}")
    assert script.status_code == 200 and "immutable" in script.headers["cache-control"]
    assert Path(asset.group(1)).name.startswith("participant-")
