"""Page designs (P36): a draft checked like a publication, an audited publication that renders
tenant Markdown inert, versions kept, the viewer's cacheable read, the default page, and
speakers as data subjects of their own."""

from collections.abc import Callable
from typing import Any

import pytest

from shared.composition.privacy_handlers import COSMOS_HANDLERS
from shared.designs.repository import designs
from shared.privacy.models import DataSubject
from tests import helpers

HOSTILE = (
    "# Welcome\n\n<script>alert(1)</script> and [click](javascript:alert(1)) and "
    '<img src=x onerror="alert(1)"> and [docs](https://example.org/docs)'
)


def _design(**theme: str) -> dict[str, Any]:
    return {
        "theme": {"background": "#ffffff", "text": "#222222", "accent": "#0b5cad", **theme},
        "blocks": [
            {
                "id": "intro",
                "kind": "intro",
                "texts": {"de": {"heading": "Willkommen", "body": HOSTILE}},
            },
            {"id": "player", "kind": "player", "states": ["live", "on_demand"]},
            {
                "id": "speakers",
                "kind": "speakers",
                "speakers": [
                    {"id": "ada", "name": "Ada Lovelace", "role": {"de": "Keynote"}},
                    {"id": "alan", "name": "Alan Turing", "role": {"de": "Panel"}},
                ],
            },
            {"id": "legal", "kind": "legal", "imprint_url": "https://example.org/imprint"},
        ],
    }


def _fields(response: Any) -> set[str]:
    assert response.status_code == 422, response.text
    return {error["field"] for error in response.json()["errors"]}


@pytest.mark.claim("P36")
def test_a_design_is_checked_saved_published_and_served_inert(stack: object) -> None:
    owner = helpers.new_owner("designs")
    webcast_id = helpers.new_webcast(owner, access_mode="public")
    base = f"/api/webcasts/{webcast_id}/design"
    viewer = helpers.client()

    # Without a design: the default page, cacheable by anyone for a public webcast.
    default = viewer.get(f"/api/w/{webcast_id}/design")
    assert default.status_code == 200, default.text
    assert default.json()["version"] == 0
    assert {b["kind"] for b in default.json()["blocks"]} >= {"intro", "player", "entry", "legal"}
    assert default.headers["cache-control"].startswith("public")
    assert owner.post(f"{base}/publish").status_code == 409, "nothing saved yet"

    # Refused whole, each field named: unreadable colours, a language the webcast lacks,
    # twice the same block, text in a block that has none.
    bad = _design(text="#eeeeee", accent="#fafafa")
    bad["blocks"].append({"id": "intro", "kind": "player", "texts": {"en": {"body": "x"}}})
    refused = owner.request("PUT", base, json=bad)
    assert _fields(refused) == {
        "theme.text",
        "theme.accent",
        "blocks.4.id",
        "blocks.4.texts.en",
        "blocks.4.texts.en.body",
    }
    assert "contrast" in refused.text
    assert owner.get(base).json()["updated_at"] is None, "nothing was saved"
    unknown = owner.request("PUT", base, json={"blocks": [{"id": "x", "kind": "iframe"}]})
    assert "body.blocks.0.kind" in _fields(unknown)
    long_text = {"id": "x", "kind": "rich_text", "texts": {"de": {"body": "a" * 20_001}}}
    assert "body.blocks.0.texts.de.body" in _fields(
        owner.request("PUT", base, json={"blocks": [long_text]})
    )
    no_https = {"id": "l", "kind": "legal", "privacy_url": "javascript:alert(1)"}
    assert "body.blocks.0.privacy_url" in _fields(
        owner.request("PUT", base, json={"blocks": [no_https]})
    )

    saved = owner.request("PUT", base, json=_design())
    assert saved.status_code == 200, saved.text
    preview = owner.get(f"{base}/preview").json()
    html = preview["blocks"][0]["texts"]["de"]["html"]
    # No element but the allowed ones, no script link: what the tenant typed stays text.
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html and "[click](javascript:alert(1))" in html
    assert '<a href="https://example.org/docs" rel="noopener noreferrer nofollow">' in html
    assert "<h2>Welcome</h2>" in html
    assert preview["theme"]["accent_text"] == "#ffffff"
    # Viewers still see the default until the draft is published.
    assert viewer.get(f"/api/w/{webcast_id}/design").json()["version"] == 0

    published = owner.post(f"{base}/publish")
    assert published.status_code == 200, published.text
    assert published.json()["version"] == 1
    served = viewer.get(f"/api/w/{webcast_id}/design")
    assert served.json()["version"] == 1
    assert served.json()["blocks"][0]["texts"]["de"]["html"] == html
    unchanged = viewer.get(
        f"/api/w/{webcast_id}/design", headers={"If-None-Match": served.headers["etag"]}
    )
    assert unchanged.status_code == 304

    # A second version; the first stays as it was published.
    changed = _design()
    changed["blocks"][0]["texts"]["de"]["heading"] = "Hallo"
    assert owner.request("PUT", base, json=changed).status_code == 200
    assert owner.post(f"{base}/publish").json()["version"] == 2
    later = viewer.get(f"/api/w/{webcast_id}/design")
    assert later.json()["blocks"][0]["texts"]["de"]["heading"] == "Hallo"
    assert later.headers["etag"] != served.headers["etag"]

    actions = [e.action for e in helpers.audit_entries(owner.tenant_id, entity_type="design")]
    assert actions.count("design.publish") == 2 and actions.count("design.save") == 2
    entries = helpers.audit_entries(owner.tenant_id, action="design.publish")
    assert all(e.entity_id == webcast_id for e in entries)


def test_a_restricted_webcast_design_is_not_for_shared_caches(stack: object) -> None:
    owner = helpers.new_owner("designs-private")
    webcast_id = helpers.new_webcast(owner, access_mode="registration")
    served = helpers.client().get(f"/api/w/{webcast_id}/design")
    assert served.status_code == 200
    assert served.headers["cache-control"] == "private, no-cache"
    assert helpers.client().get("/api/w/nonexistent/design").status_code == 404


@pytest.mark.claim("P36")
def test_a_speaker_is_exported_and_erased_alone(stack: object) -> None:
    owner = helpers.new_owner("designs-speaker")
    webcast_id = helpers.new_webcast(owner)
    base = f"/api/webcasts/{webcast_id}/design"
    assert owner.request("PUT", base, json=_design()).status_code == 200
    assert owner.post(f"{base}/publish").status_code == 200
    handlers = COSMOS_HANDLERS["designs"]
    ada = DataSubject(tenant_id=owner.tenant_id, webcast_id=webcast_id, speaker_id="ada")

    exported = handlers.exporter(subject=ada)  # type: ignore[operator]
    assert {(e["design_version"], e["name"]) for e in exported} == {
        (0, "Ada Lovelace"),
        (1, "Ada Lovelace"),
    }
    # Other kinds of subject hold nothing here.
    participant = DataSubject(tenant_id=owner.tenant_id, webcast_id=webcast_id, participant_id="p")
    assert handlers.exporter(subject=participant) == []  # type: ignore[operator]
    assert handlers.eraser(subject=participant) == 0  # type: ignore[operator]

    assert handlers.eraser(subject=ada) == 2  # type: ignore[operator]
    assert handlers.exporter(subject=ada) == []  # type: ignore[operator]
    served = helpers.client().get(f"/api/w/{webcast_id}/design").json()
    [speakers] = [b for b in served["blocks"] if b["kind"] == "speakers"]
    assert [s["name"] for s in speakers["speakers"]] == ["Alan Turing"]
    draft = owner.get(base).json()
    [block] = [b for b in draft["blocks"] if b["kind"] == "speakers"]
    assert [s["id"] for s in block["speakers"]] == ["alan"]


@pytest.mark.claim("P36")
def test_a_publication_and_a_save_at_the_same_moment_lose_neither(
    stack: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = helpers.new_owner("designs-race")
    webcast_id = helpers.new_webcast(owner)
    base = f"/api/webcasts/{webcast_id}/design"
    viewer = helpers.client()
    first = _design()
    assert owner.request("PUT", base, json=first).status_code == 200
    assert owner.post(f"{base}/publish").json()["version"] == 1

    # Another admin's write lands between each call's read of the draft and its write.
    replace = designs.replace
    interloper: list[Callable[[], Any]] = []

    def interleaved(**kwargs: Any) -> Any:
        while interloper:
            interloper.pop()()
        return replace(**kwargs)

    monkeypatch.setattr(designs, "replace", interleaved)
    later = _design(accent="#8a1538")
    interloper.append(lambda: owner.request("PUT", base, json=later))
    published = owner.post(f"{base}/publish")
    assert published.status_code == 200, published.text
    assert published.json()["version"] == 2
    draft = owner.get(base).json()
    assert draft["published_version"] == 2, "the publication is named"
    assert draft["theme"]["accent"] == "#8a1538", "the save meanwhile is kept"

    interloper.append(lambda: owner.post(f"{base}/publish"))
    assert owner.request("PUT", base, json=first).status_code == 200
    draft = owner.get(base).json()
    assert draft["published_version"] == 3, "a save does not undo a publication meanwhile"
    assert draft["theme"]["accent"] == first["theme"]["accent"]
    assert viewer.get(f"/api/w/{webcast_id}/design").json()["version"] == 3

    # A publication that stored its version but never named it (a crash in between).
    monkeypatch.setattr(designs, "replace", replace)
    stored = designs.get(
        tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=f"design:{webcast_id}:v3"
    )
    assert stored is not None
    designs.create(
        tenant_id=owner.tenant_id,
        item=stored.model_copy(update={"id": f"design:{webcast_id}:v4", "version": 4}),
    )
    assert owner.post(f"{base}/publish").json()["version"] == 5
    assert viewer.get(f"/api/w/{webcast_id}/design").json()["version"] == 5
