"""Baseline for api_read: a bare FastAPI app doing the same storage I/O as our webcast read.

One endpoint, no middleware, no auth logic: read the session document stored under the hash
of the cookie value, read the webcast document of the session's tenant, return it as JSON.
It uses the raw azure-cosmos SDK with the client settings of shared/clients.py and reads its
configuration from the same WEBCAST_* environment, but imports nothing from the platform.
"""

import hashlib
import os
from typing import Any

from azure.cosmos import ContainerProxy, CosmosClient
from fastapi import FastAPI, HTTPException, Request

COOKIE = "__Host-wcadmin"


def _containers() -> tuple[ContainerProxy, ContainerProxy]:
    client = CosmosClient(
        os.environ["WEBCAST_COSMOS_ENDPOINT"],
        credential=os.environ["WEBCAST_COSMOS_KEY"],
        enable_endpoint_discovery=False,
        connection_verify=False,
    )
    database = client.get_database_client(os.environ["WEBCAST_COSMOS_DATABASE"])
    prefix = os.environ.get("WEBCAST_COSMOS_CONTAINER_PREFIX", "")
    return (
        database.get_container_client(f"{prefix}sessions"),
        database.get_container_client(f"{prefix}webcasts"),
    )


def create_app() -> FastAPI:
    sessions, webcasts = _containers()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/api/webcasts/{webcast_id}")
    def get_webcast(webcast_id: str, request: Request) -> dict[str, Any]:
        token = request.cookies.get(COOKIE, "")
        key = hashlib.sha256(token.encode()).hexdigest()
        session: dict[str, Any] = sessions.read_item(key, partition_key=key)
        if not session:
            raise HTTPException(status_code=401)
        tenant_id = session["home_tenant_id"]
        webcast: dict[str, Any] = webcasts.read_item(webcast_id, partition_key=tenant_id)
        return webcast

    return app
