"""Message box (P05) with privacy by default (P15, P19): viewers, moderators, feed, votes."""

import csv
import functools
import io
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from shared.auth.models import Permission
from shared.clients import cosmos_container
from shared.messages import feed
from shared.messages.settings import settings
from tests import helpers

NAME_FORM: dict[str, list[dict[str, Any]]] = {
    "fields": [
        {"id": "first_name", "type": "short_text", "label": "First name", "required": True},
        {"id": "last_name", "type": "short_text", "label": "Last name", "required": True},
    ]
}


class Viewer(helpers.Viewer):
    """A viewer with the message box's calls on its webcast."""

    def send(self, text: str, **extra: object) -> httpx.Response:
        return self.post(f"/api/w/{self.webcast_id}/messages", json={"text": text, **extra})

    def vote(self, message_id: str) -> httpx.Response:
        return self.post(f"/api/w/{self.webcast_id}/messages/{message_id}/votes")

    def mine(self) -> list[dict[str, Any]]:
        response = self.get(f"/api/w/{self.webcast_id}/messages/mine")
        assert response.status_code == 200, response.text
        result: list[dict[str, Any]] = response.json()
        return result

    def published(self, etag: str | None = None) -> httpx.Response:
        headers = {"If-None-Match": etag} if etag else {}
        return self.get(f"/api/w/{self.webcast_id}/messages/published", headers=headers)


_webcast = functools.partial(helpers.new_webcast, modules={"message_box": True})


def _registered_viewer(webcast_id: str, first: str, last: str) -> tuple[Viewer, str]:
    viewer = Viewer.register(webcast_id, answers={"first_name": first, "last_name": last})
    return viewer, str(viewer.participant_id)


def _stored(webcast_id: str) -> list[dict[str, Any]]:
    return list(
        cosmos_container("messages").query_items(
            "SELECT * FROM c WHERE c.partition = @p AND c.type = 'message'",
            parameters=[{"name": "@p", "value": webcast_id}],
            partition_key=webcast_id,
        )
    )


def _queue(admin: helpers.Admin, webcast_id: str, **params: str) -> list[dict[str, Any]]:
    response = admin.get(f"/api/webcasts/{webcast_id}/messages", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _fresh_feed(viewer: Viewer) -> dict[str, Any]:
    feed.invalidate(viewer.webcast_id)
    response = viewer.published()
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _registration_webcast(owner: helpers.Admin, slug: str, **privacy: bool) -> str:
    return _webcast(
        owner,
        slug,
        access_mode="registration",
        privacy=privacy,
        admit_before_confirmation=True,
        form=NAME_FORM,
    )


@pytest.mark.claim("P05")
def test_viewers_send_and_see_their_own_messages_and_replies(stack):
    owner = helpers.new_owner("msg-own")
    webcast_id = _webcast(owner, "msg-own")
    alice, bob = Viewer.enter(webcast_id), Viewer.enter(webcast_id)
    sent = alice.send("  How long is the break?  ")
    assert sent.status_code == 201, sent.text
    assert sent.json()["text"] == "How long is the break?"
    assert bob.send("Is there a recording?").status_code == 201
    assert [m["text"] for m in alice.mine()] == ["How long is the break?"]
    message_id = sent.json()["id"]
    private = owner.post(
        f"/api/webcasts/{webcast_id}/messages/{message_id}/replies",
        json={"text": "15 minutes", "public": False},
    )
    assert private.status_code == 201, private.text
    assert private.json()["status"] == "answered"
    assert alice.mine()[0]["replies"][0]["text"] == "15 minutes"
    assert bob.mine()[0]["replies"] == []
    assert _fresh_feed(bob)["items"] == []
    # Without a grant there is no message box at all.
    stranger = helpers.client()
    assert stranger.get(f"/api/w/{webcast_id}/messages/mine").status_code == 403
    assert stranger.post(f"/api/w/{webcast_id}/messages", json={"text": "hi"}).status_code == 403


@pytest.mark.claim("P05")
def test_bad_input_is_a_problem_naming_the_field_and_the_rate_is_limited(stack, monkeypatch):
    owner = helpers.new_owner("msg-rate")
    webcast_id = _webcast(owner, "msg-rate")
    viewer = Viewer.enter(webcast_id)
    for text in ("", "   ", "x" * 2001):
        refused = viewer.send(text)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["errors"][0]["field"].endswith("text")
    unknown = viewer.send("hello", sender_name="me")
    assert unknown.status_code == 422
    assert viewer.send("y" * 2000).status_code == 201
    monkeypatch.setattr(settings, "rate_limit", 3)
    assert viewer.send("two").status_code == 201
    assert viewer.send("three").status_code == 201
    limited = viewer.send("four")
    assert limited.status_code == 429, limited.text
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # The limit is per viewer session: another viewer is not held back.
    assert Viewer.enter(webcast_id).send("other").status_code == 201
    assert len(viewer.mine()) == 3


@pytest.mark.claim("P05")
def test_moderation_needs_the_permission_and_the_own_tenant(stack):
    owner = helpers.new_owner("msg-perm")
    webcast_id = _webcast(owner, "msg-perm")
    message_id = Viewer.enter(webcast_id).send("Question").json()["id"]
    without = helpers.new_subaccount(owner, [Permission.participants])
    base = f"/api/webcasts/{webcast_id}/messages"
    assert without.get(base).status_code == 403
    assert without.patch(f"{base}/{message_id}", json={"starred": True}).status_code == 403
    assert without.get(f"{base}/export.csv").status_code == 403
    moderator = helpers.new_subaccount(owner, [Permission.moderation])
    assert [m["id"] for m in _queue(moderator, webcast_id)] == [message_id]
    starred = moderator.patch(f"{base}/{message_id}", json={"starred": True})
    assert starred.status_code == 200 and starred.json()["starred"] is True
    other = helpers.new_owner("msg-other")
    assert other.get(base).status_code == 404
    assert other.patch(f"{base}/{message_id}", json={"starred": False}).status_code == 404
    assert other.delete(f"{base}/{message_id}").status_code == 404
    assert other.get(f"{base}/export.xlsx").status_code == 404
    entries = helpers.audit_entries(owner.tenant_id, action="message.update")
    assert [(e.entity_id, e.changed_fields) for e in entries] == [(message_id, ["starred"])]


@pytest.mark.claim("P05")
def test_a_moderation_only_subaccount_sorts_prioritises_bulk_acts_replies_and_exports(stack):
    owner = helpers.new_owner("msg-queue")
    webcast_id = _webcast(owner, "msg-queue")
    viewer = Viewer.enter(webcast_id)
    ids = [viewer.send(f"Question {n}").json()["id"] for n in range(4)]
    # Every moderator action by a sub-account that has the moderation permission only.
    moderator = helpers.new_subaccount(owner, [Permission.moderation])
    base = f"/api/webcasts/{webcast_id}/messages"
    assert moderator.patch(f"{base}/{ids[2]}", json={"priority": 3}).status_code == 200
    assert moderator.patch(f"{base}/{ids[1]}", json={"priority": 1}).status_code == 200
    assert moderator.patch(f"{base}/{ids[0]}", json={"priority": 9}).status_code == 422
    by_priority = _queue(moderator, webcast_id, sort="priority", order="desc")
    assert [m["id"] for m in by_priority][:2] == [ids[2], ids[1]]
    assert [m["id"] for m in _queue(moderator, webcast_id, sort="time", order="asc")] == ids
    assert {m["id"] for m in _queue(moderator, webcast_id, status="starred")} == {ids[1], ids[2]}
    done = moderator.post(
        f"{base}/bulk", json={"ids": [ids[0], ids[1], "nope"], "action": "archive"}
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"done": [ids[0], ids[1]], "missing": ["nope"]}
    assert {m["id"] for m in _queue(moderator, webcast_id, status="archived")} == {ids[0], ids[1]}
    assert {m["id"] for m in _queue(moderator, webcast_id, status="new")} == {ids[2], ids[3]}
    moderator.post(f"{base}/bulk", json={"ids": [ids[3]], "action": "answer"})
    assert [m["id"] for m in _queue(moderator, webcast_id, status="answered")] == [ids[3]]
    published = moderator.post(f"{base}/bulk", json={"ids": [ids[2], ids[3]], "action": "publish"})
    assert published.status_code == 200
    assert {m["id"] for m in _queue(moderator, webcast_id, status="published")} == {ids[2], ids[3]}
    assert {i["id"] for i in _fresh_feed(viewer)["items"]} == {ids[2], ids[3]}
    moderator.post(f"{base}/bulk", json={"ids": [ids[3]], "action": "delete"})
    assert {i["id"] for i in _fresh_feed(viewer)["items"]} == {ids[2]}
    assert moderator.delete(f"{base}/{ids[2]}").status_code == 204
    assert _fresh_feed(viewer)["items"] == []
    assert {m["id"] for m in _queue(moderator, webcast_id)} == {ids[0], ids[1]}
    bad = moderator.post(f"{base}/bulk", json={"ids": [], "action": "explode"})
    assert bad.status_code == 422
    reply = moderator.post(f"{base}/{ids[0]}/replies", json={"text": "Noted", "public": False})
    assert reply.status_code == 201, reply.text
    exported = moderator.get(f"{base}/export.csv")
    assert exported.status_code == 200 and "Question 0" in exported.text
    assert helpers.audit_entries(owner.tenant_id, action="message.bulk_archive")[0].entity_ids
    logged = [e for e in helpers.audit_entries(owner.tenant_id) if e.action.startswith("message.")]
    assert {"message.update", "message.delete", "message.reply", "message.export"} <= {
        e.action for e in logged
    }
    assert {e.actor_id for e in logged} == {moderator.account_id}


@pytest.mark.claim("P15")
@pytest.mark.claim("P19")
def test_with_both_switches_off_no_participant_id_is_stored_and_no_name_shown(stack):
    owner = helpers.new_owner("msg-private")
    webcast_id = _registration_webcast(owner, "msg-private")
    viewer, _ = _registered_viewer(webcast_id, "Anna", "Private")
    message_id = viewer.send("Who am I?").json()["id"]
    stored = _stored(webcast_id)
    assert len(stored) == 1
    assert stored[0].get("participant_id") is None
    assert "Anna" not in str(stored[0])
    assert [m["text"] for m in viewer.mine()] == ["Who am I?"]
    queue = _queue(owner, webcast_id)
    assert queue[0]["sender"] is None
    owner.patch(f"/api/webcasts/{webcast_id}/messages/{message_id}", json={"published": True})
    item = _fresh_feed(viewer)["items"][0]
    assert item["id"] == message_id and item["sender_name"] is None
    export = owner.get(f"/api/webcasts/{webcast_id}/messages/export.csv")
    assert "Anna" not in export.text and "Sender" not in export.text


@pytest.mark.claim("P15")
@pytest.mark.claim("P19")
def test_switches_on_show_the_sender_to_moderators_and_audience_unless_anonymous(stack):
    owner = helpers.new_owner("msg-names")
    webcast_id = _registration_webcast(
        owner,
        "msg-names",
        messages_show_sender_to_moderators=True,
        messages_show_sender_to_audience=True,
    )
    viewer, participant_id = _registered_viewer(webcast_id, "Bert", "Named")
    named = viewer.send("Named question").json()["id"]
    hidden = viewer.send("Anonymous question", anonymous=True).json()["id"]
    stored = {m["id"]: m for m in _stored(webcast_id)}
    assert stored[named]["participant_id"] == participant_id
    assert stored[hidden].get("participant_id") is None
    senders = {m["id"]: m["sender"] for m in _queue(owner, webcast_id)}
    assert senders[named]["name"] == "Bert Named" and "@" in senders[named]["email"]
    assert senders[hidden] is None
    base = f"/api/webcasts/{webcast_id}/messages"
    owner.post(f"{base}/bulk", json={"ids": [named, hidden], "action": "publish"})
    names = {i["id"]: i["sender_name"] for i in _fresh_feed(viewer)["items"]}
    assert names == {named: "Bert Named", hidden: None}
    # Turning the audience switch off hides names at once; no new ids are stored then.
    switched = owner.patch(
        f"/api/webcasts/{webcast_id}",
        json={"privacy": {"messages_show_sender_to_moderators": False}},
    )
    assert switched.status_code == 200, switched.text
    assert all(i["sender_name"] is None for i in _fresh_feed(viewer)["items"])
    assert all(m["sender"] is None for m in _queue(owner, webcast_id))
    later = viewer.send("After the switch").json()["id"]
    assert {m["id"]: m for m in _stored(webcast_id)}[later].get("participant_id") is None


@pytest.mark.claim("P15")
def test_only_the_moderator_switch_shows_names_to_moderators_but_not_the_audience(stack):
    owner = helpers.new_owner("msg-mod-only")
    webcast_id = _registration_webcast(
        owner, "msg-mod-only", messages_show_sender_to_moderators=True
    )
    viewer, _ = _registered_viewer(webcast_id, "Cora", "Moderated")
    message_id = viewer.send("Moderators know me").json()["id"]
    assert _queue(owner, webcast_id)[0]["sender"]["name"] == "Cora Moderated"
    owner.patch(f"/api/webcasts/{webcast_id}/messages/{message_id}", json={"published": True})
    assert _fresh_feed(viewer)["items"][0]["sender_name"] is None


@pytest.mark.claim("P05")
def test_the_published_feed_answers_304_and_counts_one_vote_per_session(stack, monkeypatch):
    owner = helpers.new_owner("msg-feed")
    webcast_id = _webcast(owner, "msg-feed")
    asker, voter, other = (Viewer.enter(webcast_id) for _ in range(3))
    message_id = asker.send("Vote for me").json()["id"]
    assert voter.vote(message_id).status_code == 404  # not published yet
    base = f"/api/webcasts/{webcast_id}/messages"
    owner.patch(f"{base}/{message_id}", json={"published": True})
    owner.post(f"{base}/{message_id}/replies", json={"text": "Public answer", "public": True})
    first = voter.published()
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=5"
    etag = first.headers["ETag"]
    assert first.json()["items"][0]["replies"] == ["Public answer"]
    again = voter.published(etag)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    monkeypatch.setattr(settings, "vote_fold_seconds", 0.0)
    assert voter.vote(message_id).json() == {
        "message_id": message_id,
        "voted": True,
        "new_vote": True,
    }
    assert voter.vote(message_id).json()["new_vote"] is False
    assert other.vote(message_id).json()["new_vote"] is True
    feed.invalidate(webcast_id)
    counted = voter.published(etag)
    assert counted.status_code == 200
    assert counted.json()["items"][0]["votes"] == 2
    assert counted.headers["ETag"] != etag
    # Folding again (another process, a retry) counts nothing twice.
    feed.invalidate(webcast_id)
    assert voter.published().json()["items"][0]["votes"] == 2
    # The feed is the same for everyone: no per-viewer content.
    assert other.published(counted.headers["ETag"]).status_code == 304


@pytest.mark.claim("P05")
def test_a_fold_cut_short_is_finished_without_counting_twice(stack):
    owner = helpers.new_owner("msg-fold")
    webcast_id = _webcast(owner, "msg-fold")
    message_id = Viewer.enter(webcast_id).send("Fold me").json()["id"]
    owner.patch(f"/api/webcasts/{webcast_id}/messages/{message_id}", json={"published": True})
    from shared.messages.repository import tallies, vote_partition, votes
    from shared.webcasts.repository import find_webcast

    webcast = find_webcast(webcast_id)
    assert webcast is not None
    voters = [
        f"{n:08x}" + "0" * 56 for n in range(0, 3 * settings.vote_shards, settings.vote_shards)
    ]
    for voter_hash in voters:  # all in shard 0
        assert feed.cast_vote(webcast=webcast, message_id=message_id, voter_hash=voter_hash)
    assert not feed.cast_vote(webcast=webcast, message_id=message_id, voter_hash=voters[0])
    tally = feed.fold_shard(webcast=webcast, shard=0)
    assert tally.counts == {message_id: 3}
    # Simulate a crash after the tally was written but before the votes were marked.
    partition = vote_partition(webcast_id, 0)
    for vote in votes.query(tenant_id=webcast.tenant_id, partition_key=partition):
        votes.upsert(tenant_id=webcast.tenant_id, item=vote.model_copy(update={"counted": False}))
    assert feed.fold_shard(webcast=webcast, shard=0).counts == {message_id: 3}
    assert feed.fold_shard(webcast=webcast, shard=0).counts == {message_id: 3}
    stored = tallies.get(tenant_id=webcast.tenant_id, item_id="tally", partition_key=partition)
    assert stored is not None and stored.counts == {message_id: 3}
    assert feed.vote_counts(webcast, fold=True) == {message_id: 3}


@pytest.mark.claim("P05")
def test_export_csv_and_xlsx_neutralise_formulas(stack):
    owner = helpers.new_owner("msg-export")
    webcast_id = _webcast(owner, "msg-export")
    viewer = Viewer.enter(webcast_id)
    viewer.send('=HYPERLINK("http://evil.example","click")')
    viewer.send("Plain question")
    csv_response = owner.get(f"/api/webcasts/{webcast_id}/messages/export.csv")
    assert csv_response.status_code == 200, csv_response.text
    assert csv_response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    texts = [row[2] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil.example","click")' in texts
    assert "Plain question" in texts
    xlsx = owner.get(f"/api/webcasts/{webcast_id}/messages/export.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    values = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert all(not str(v).startswith("=") for v in values)
    assert any(str(v).startswith("'=HYPERLINK") for v in values)
    assert helpers.audit_entries(owner.tenant_id, action="message.export")


@pytest.mark.claim("P19")
def test_erasure_removes_a_participants_tied_messages(stack):
    from shared.messages.privacy import erase_messages, export_messages
    from shared.privacy.models import DataSubject

    owner = helpers.new_owner("msg-erase")
    webcast_id = _registration_webcast(owner, "msg-erase", messages_show_sender_to_audience=True)
    viewer, participant_id = _registered_viewer(webcast_id, "Dora", "Erased")
    message_id = viewer.send("Forget me").json()["id"]
    owner.patch(f"/api/webcasts/{webcast_id}/messages/{message_id}", json={"published": True})
    assert _fresh_feed(viewer)["items"][0]["sender_name"] == "Dora Erased"
    subject = DataSubject(
        tenant_id=owner.tenant_id, webcast_id=webcast_id, participant_id=participant_id
    )
    assert [m["text"] for m in export_messages(subject=subject)] == ["Forget me"]
    assert erase_messages(subject=subject) == 1
    assert erase_messages(subject=subject) == 0
    assert _stored(webcast_id) == []
    assert _fresh_feed(viewer)["items"] == []


@pytest.mark.claim("P05")
def test_the_moderators_queue_answers_304_while_nothing_changed(stack):
    owner = helpers.new_owner("msg-etag")
    webcast_id = _webcast(owner, "etag")
    viewer = Viewer.enter(webcast_id)
    assert viewer.send("First question").status_code == 201
    first = owner.get(f"/api/webcasts/{webcast_id}/messages")
    assert first.status_code == 200 and len(first.json()["items"]) == 1
    etag = first.headers["ETag"]
    again = owner.get(f"/api/webcasts/{webcast_id}/messages", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert viewer.send("Second question").status_code == 201
    changed = owner.get(f"/api/webcasts/{webcast_id}/messages", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert len(changed.json()["items"]) == 2
