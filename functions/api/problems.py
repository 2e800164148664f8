"""RFC 9457 problem details for every error the API returns."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import DomainError

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://webcast.invalid/problems/"
log = logging.getLogger("webcast.api")


def problem(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    request: Request | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(location: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in location)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        request=request,
        errors=[{"field": e.field, "reason": e.reason} for e in exc.errors],
        headers=exc.headers or None,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        location = list(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            errors.append({"field": "body", "reason": "is not valid JSON"})
            continue
        errors.append({"field": _field(location), "reason": error.get("msg", "is invalid")})
    first = errors[0] if errors else {"field": "body", "reason": "is invalid"}
    return problem(
        status=422,
        code="validation-error",
        title="Invalid input",
        detail=f"{first['field']}: {first['reason']}",
        request=request,
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    # FastAPI answers a body it cannot decode (not UTF-8) with a bare 400; it is invalid
    # input like malformed JSON, so it gets the same 422 naming the body.
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        return problem(
            status=422,
            code="validation-error",
            title="Invalid input",
            detail="body: is not valid UTF-8 JSON",
            request=request,
            errors=[{"field": "body", "reason": "is not valid UTF-8 JSON"}],
        )
    titles = {404: "Not found", 405: "Method not allowed", 413: "Content too large"}
    return problem(
        status=exc.status_code,
        code=f"http-{exc.status_code}",
        title=titles.get(exc.status_code, "Error"),
        detail=str(exc.detail),
        request=request,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem(
        status=500,
        code="internal-error",
        title="Internal error",
        detail="Something went wrong on our side; the request id helps support",
        request=request,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
