"""Baseline for the interaction bench: bare FastAPI endpoints doing our hot paths' storage I/O.

No middleware, no validation models, no platform code: each endpoint reads the viewer
session stored under the hash of the cookie value, the webcast key and the webcast, and then
does what ours does with storage: a heartbeat sends one queue message, a message post runs
the rate-limit query and creates the message, a vote reads the poll and creates the vote.
Raw azure-cosmos and azure-storage-queue SDKs, configured from the same WEBCAST_* variables.
"""

import hashlib
import json
import os
import time
import uuid
from typing import Any

from azure.cosmos import ContainerProxy, CosmosClient, exceptions
from azure.storage.queue import QueueServiceClient
from fastapi import FastAPI, Request, Response

COOKIE = "__Host-wcviewer"
TRACKING_QUEUES = 8


def _containers() -> dict[str, ContainerProxy]:
    client = CosmosClient(
        os.environ["WEBCAST_COSMOS_ENDPOINT"],
        credential=os.environ["WEBCAST_COSMOS_KEY"],
        enable_endpoint_discovery=False,
        connection_verify=False,
    )
    database = client.get_database_client(os.environ["WEBCAST_COSMOS_DATABASE"])
    prefix = os.environ.get("WEBCAST_COSMOS_CONTAINER_PREFIX", "")
    names = ("sessions", "webcast_keys", "webcasts", "messages", "polls")
    return {name: database.get_container_client(f"{prefix}{name}") for name in names}


def create_app() -> FastAPI:
    containers = _containers()
    queues = QueueServiceClient.from_connection_string(
        os.environ["WEBCAST_STORAGE_CONNECTION_STRING"]
    )
    prefix = os.environ.get("WEBCAST_STORAGE_PREFIX", "")
    tracking = [queues.get_queue_client(f"{prefix}tracking-{n}") for n in range(TRACKING_QUEUES)]
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    def session_and_webcast(request: Request, webcast_id: str) -> tuple[dict[str, Any], Any]:
        key = hashlib.sha256(request.cookies.get(COOKIE, "").encode()).hexdigest()
        session = containers["sessions"].read_item(key, partition_key=key)
        webcast_key = containers["webcast_keys"].read_item(webcast_id, partition_key=webcast_id)
        webcast = containers["webcasts"].read_item(
            webcast_id, partition_key=webcast_key["tenant_id"]
        )
        return session, webcast

    @app.post("/api/w/{webcast_id}/heartbeat", status_code=202)
    def heartbeat(webcast_id: str, request: Request) -> dict[str, int]:
        session, _ = session_and_webcast(request, webcast_id)
        queue = tracking[int(session["id"][:8], 16) % TRACKING_QUEUES]
        queue.send_message(json.dumps({"w": webcast_id, "s": session["id"], "t": time.time()}))
        return {"interval_seconds": 30}

    @app.post("/api/w/{webcast_id}/messages", status_code=201)
    def message(webcast_id: str, request: Request) -> dict[str, Any]:
        session, webcast = session_and_webcast(request, webcast_id)
        sender = hashlib.sha256(f"sender:{session['id']}".encode()).hexdigest()
        recent = list(
            containers["messages"].query_items(
                "SELECT VALUE c.created_ts FROM c WHERE c.partition = @p AND c.tenant_id = @t "
                "AND c.type = 'message' AND c.sender_hash = @s AND c.created_ts > @since",
                parameters=[
                    {"name": "@p", "value": webcast_id},
                    {"name": "@t", "value": webcast["tenant_id"]},
                    {"name": "@s", "value": sender},
                    {"name": "@since", "value": time.time() - 60},
                ],
                partition_key=webcast_id,
            )
        )
        item = {
            "id": uuid.uuid4().hex,
            "partition": webcast_id,
            "tenant_id": webcast["tenant_id"],
            "type": "bench-message",
            "sender_hash": sender,
            "text": "How long is the break?",
            "created_ts": time.time(),
            "recent": len(recent),
        }
        return containers["messages"].create_item(item)

    @app.post("/api/w/{webcast_id}/polls/{poll_id}/answer")
    def vote(webcast_id: str, poll_id: str, request: Request, response: Response) -> Any:
        session, webcast = session_and_webcast(request, webcast_id)
        poll = containers["polls"].read_item(poll_id, partition_key=webcast_id)
        vote_key = hashlib.sha256(f"{poll_id}:{session['id']}".encode()).hexdigest()
        partition = f"{webcast_id}:bench:{int(vote_key[:8], 16) % 16}"
        item = {
            "id": vote_key,
            "partition": partition,
            "tenant_id": webcast["tenant_id"],
            "type": "bench-vote",
            "poll_id": poll["id"],
            "answers": {"q1": "yes"},
        }
        try:
            return containers["polls"].create_item(item)
        except exceptions.CosmosResourceExistsError:
            return containers["polls"].read_item(vote_key, partition_key=partition)

    return app
