"""The periodic export into the separate backup account (P32: backups are kept apart from the
data they copy): every long-lived Cosmos DB container as JSON Lines with a manifest of counts
and SHA-256 sums, short-lived credentials left out, and the export audited."""

import hashlib
import io
import json
from typing import Any

import pytest

from shared.audit.models import PLATFORM_TENANT
from shared.cli import main
from shared.clients import cosmos_container
from shared.composition.store_export import EXPORTED, backup_target
from shared.stores import COSMOS_CONTAINERS
from tests import helpers


@pytest.mark.claim("P32")
def test_the_export_holds_every_long_lived_container_whole_and_no_session(stack) -> None:
    owner = helpers.new_owner("export")
    webcast_id = helpers.new_webcast(owner, "exported", title="Exported")
    added = owner.post(
        f"/api/webcasts/{webcast_id}/participants", json={"email": helpers.unique_email("x")}
    )
    assert added.status_code == 201, added.text

    printed = io.StringIO()
    assert main(["export-stores"], out=printed) == 0
    prefix = printed.getvalue().strip().splitlines()[-1].removeprefix("exported under ").rstrip("/")
    target = backup_target()
    manifest = json.loads(target.download_blob(f"{prefix}/manifest.json").readall())
    assert [member["container"] for member in manifest["members"]] == list(EXPORTED)
    short_lived = {spec.name for spec in COSMOS_CONTAINERS} - set(EXPORTED)
    assert {"sessions", "tokens", "throttles"} <= short_lived
    assert "participants" in EXPORTED and "audit" in EXPORTED

    for member in manifest["members"]:
        data = target.download_blob(f"{prefix}/{member['container']}.jsonl").readall()
        assert hashlib.sha256(data).hexdigest() == member["sha256"], member["container"]
        assert len(data) == member["size"]
        rows = [json.loads(line) for line in data.splitlines()]
        assert len(rows) == member["documents"]
        assert not any(key.startswith("_") for row in rows for key in row)
        if member["container"] == "participants":
            assert any(row.get("id") == added.json()["id"] for row in rows)
            query = "SELECT VALUE COUNT(1) FROM c"
            stored: list[Any] = list(
                cosmos_container(
                    "participants"
                ).query_items(  # nosemgrep: cosmos-query-without-partition-key
                    query, enable_cross_partition_query=True
                )
            )
            assert stored == [len(rows)], "the container whole"
        if member["container"] == "webcasts":
            assert any(row.get("id") == webcast_id for row in rows)
    [audited] = [
        entry
        for entry in helpers.audit_entries(PLATFORM_TENANT, action="platform.store_export")
        if entry.entity_id == prefix
    ]
    assert audited.store_counts is not None and "participants" in audited.store_counts
