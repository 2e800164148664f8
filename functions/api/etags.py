"""Conditional GETs for views that poll: an ETag over the body, 304 while it is unchanged."""

import hashlib
from typing import Any

from fastapi import Response
from pydantic import BaseModel

_ETAG = {
    "ETag": {
        "description": "The version of the body, for If-None-Match (or If-Match)",
        "schema": {"type": "string"},
        "required": True,
    }
}


def tagged(status: int = 200) -> dict[int | str, dict[str, Any]]:
    """For a route's `responses=`: its answer with this status carries an ETag."""
    return {status: {"headers": _ETAG}}


UNCHANGED: dict[int | str, dict[str, Any]] = {
    **tagged(200),
    304: {"description": "Unchanged since the ETag given in If-None-Match", "headers": _ETAG},
}


def quoted(tag: str) -> str:
    return f'"{tag}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether If-None-Match names this (quoted) ETag, weak or strong, or is `*`."""
    if not if_none_match:
        return False
    candidates = {part.strip().removeprefix("W/") for part in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def conditional_json(
    body: BaseModel, if_none_match: str | None, *, cache_control: str = "no-cache"
) -> Response:
    """The body as JSON with an ETag over its bytes, or an empty 304 when the poller has it."""
    payload = body.model_dump_json()
    etag = quoted(hashlib.sha256(payload.encode()).hexdigest()[:32])
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(payload, media_type="application/json", headers=headers)
