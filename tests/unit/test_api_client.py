"""The web's generated API types are those of the current API."""

from devtools import api_client


def test_the_committed_api_types_match_the_api() -> None:
    committed = api_client.SCHEMA.read_text(encoding="utf-8")
    assert committed == api_client.render(), (
        "web/src/api/schema.d.ts is older than the API: run `python -m devtools.api_client --write`"
    )
