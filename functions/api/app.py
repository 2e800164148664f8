"""The FastAPI application: one router per feature, problem+json errors, hygiene middleware."""

from fastapi import Depends, FastAPI

from functions.api import docs as api_docs
from functions.api import pages, problems
from functions.api.deps import checked_parameters
from functions.api.middleware import HygieneMiddleware
from functions.api.routers import (
    account_deletion,
    accounts,
    addresses,
    audit,
    auth,
    backups,
    controller,
    deletions,
    designs,
    handouts,
    integrations,
    live,
    mail,
    media,
    messages,
    participant_files,
    participants,
    people,
    playback,
    polls,
    privacy_page,
    restores,
    retention,
    support,
    tracking,
    viewer,
    webcasts,
)
from shared.config import get_settings


def create_app() -> FastAPI:
    settings = get_settings()
    docs = settings.enable_api_docs
    app = FastAPI(
        title="Webcast platform API",
        version="0.1.0",
        # The docs page is our own (functions/api/docs.py): Swagger UI without a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url=api_docs.OPENAPI_URL if docs else None,
        dependencies=[Depends(checked_parameters)],
    )
    problems.install(app)
    if docs:
        api_docs.install(app)
    for router in (
        auth.router,
        accounts.router,
        support.router,
        webcasts.router,
        deletions.router,
        backups.router,
        restores.router,
        account_deletion.router,
        addresses.router,
        controller.router,
        retention.router,
        participant_files.router,  # before participants: /participants/export.csv
        participants.router,
        people.router,
        viewer.router,
        privacy_page.router,
        audit.router,
        integrations.router,
        mail.router,
        messages.router,
        polls.router,
        tracking.router,
        media.router,
        handouts.router,
        designs.router,
        playback.router,
        live.router,
    ):
        app.include_router(router)

    @app.get("/api/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    pages.install(app)
    problems.document(app)
    app.add_middleware(HygieneMiddleware)
    return app
