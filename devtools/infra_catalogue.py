"""`infra/bicep/catalogue.json`: the stores the templates provision, rendered from the store
catalogue and the blob consumers, so that the templates hold exactly what the code uses.

The Bicep modules load it with `loadJsonContent` and loop over it; `make test` fails when
the file differs from what this renders (`tests/unit/test_infra.py`).

    python -m devtools.infra_catalogue           # print it
    python -m devtools.infra_catalogue --write   # rewrite infra/bicep/catalogue.json
"""

import argparse
import json
from pathlib import Path
from typing import Any

from shared.cdn import DELIVERED_CONTAINERS
from shared.composition import store_export
from shared.composition.blob_consumers import BLOB_CONSUMERS
from shared.config import Settings
from shared.malware import GATED_CONTAINERS
from shared.media.models import TRANSCODE_QUEUE
from shared.stores import BLOB_CONTAINERS, COSMOS_CONTAINERS, QUEUES

FILE = Path(__file__).resolve().parent.parent / "infra" / "bicep" / "catalogue.json"
# Blobs under these prefixes are temporary: a lifecycle rule deletes them after a day, in
# case the job that removes them (the 24-hour timers) did not run.
TEMPORARY_PREFIXES = ("exports/", "imports/", "restores/", "page-uploads/")


def _default(field: str) -> Any:
    """A setting as deployed: its default (this process's environment may differ)."""
    return Settings.model_fields[field].default


def render() -> dict[str, Any]:
    return {
        "cosmosDatabase": _default("cosmos_database"),
        # Each container's `resource` as the Cosmos DB resource provider takes it: a default
        # time to live only where the catalogue declares one (none: items never expire).
        "cosmosContainers": [
            {
                "name": spec.name,
                "resource": {
                    "id": spec.name,
                    "partitionKey": {"paths": [spec.partition_key], "kind": "Hash"},
                    **({} if spec.default_ttl is None else {"defaultTtl": spec.default_ttl}),
                },
            }
            for spec in COSMOS_CONTAINERS
        ],
        "blobContainers": [spec.name for spec in BLOB_CONTAINERS],
        "queues": [spec.name for spec in QUEUES],
        # BlobCreated of these containers goes into the `blob-events` queue (Event Grid).
        "blobEventContainers": sorted(BLOB_CONSUMERS),
        "blobEventQueue": "blob-events",
        # Defender for Storage scans uploads to these containers before anything reads them.
        "scannedContainers": sorted(GATED_CONTAINERS),
        # and skips these, which take no uploads (live segments alone would be most of it).
        "unscannedContainers": sorted(
            spec.name for spec in BLOB_CONTAINERS if spec.name not in GATED_CONTAINERS
        ),
        "malwareScanQueue": "malware-scans",
        # The media worker job scales on this queue (one execution per message).
        "transcodeQueue": TRANSCODE_QUEUE,
        # Viewers read these through Front Door (signed URLs, the query string in the key).
        "deliveredContainers": list(DELIVERED_CONTAINERS),
        "temporaryPrefixes": list(TEMPORARY_PREFIXES),
        # The daily export of the documents into the separate backup account (P32).
        "storeExportContainer": store_export.CONTAINER,
        "softDeleteDays": _default("deletion_backup_window_days"),
    }


def text() -> str:
    return json.dumps(render(), indent=2) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the file")
    if parser.parse_args().write:
        FILE.write_text(text(), encoding="utf-8")
        print(f"wrote {FILE.relative_to(FILE.parents[2])}")
    else:
        print(text(), end="")


if __name__ == "__main__":
    main()
