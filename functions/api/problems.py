"""RFC 9457 problem details for every error the API returns, and their place in the schema."""

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Request, routing
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import DomainError
from shared.webcasts.models import Module
from shared.webcasts.service import module_off

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://webcast.invalid/problems/"
log = logging.getLogger("webcast.api")

Dependency = TypeVar("Dependency", bound=Callable[..., Any])


class FieldProblem(BaseModel):
    """One wrong input field: where it is (e.g. `body.email`) and why it is wrong."""

    field: str
    reason: str


def _without_null_defaults(schema: dict[str, Any]) -> None:
    for field_schema in schema["properties"].values():
        if field_schema.get("default", ...) is None:
            del field_schema["default"]


class Problem(BaseModel):
    """An RFC 9457 problem document: the body of every error answer."""

    model_config = ConfigDict(json_schema_extra=_without_null_defaults)

    type: str
    title: str
    status: Annotated[int, Field(ge=400, le=599)]
    detail: str
    # Left out, not null, when unknown: the middleware answers before routing.
    instance: str | SkipJsonSchema[None] = None
    request_id: str | SkipJsonSchema[None] = None
    errors: list[FieldProblem] | SkipJsonSchema[None] = None


# What each status means for a caller of this API.
_DESCRIPTIONS = {
    401: "Not signed in, the session expired, or the credential is wrong",
    403: "Refused: the origin, the CSRF token, the grant or a permission is missing",
    404: "Not found, or not in the caller's tenant",
    409: "In conflict with the resource's current state",
    412: "Changed by another request since it was read (or since the If-Match ETag); read again",
    413: "The body is larger than the API accepts",
    422: "Invalid input; `errors` names each wrong field",
    429: "Too many requests; Retry-After says after how many seconds to try again",
    500: "Internal error; the request id helps support",
}
_HEADERS = {429: {"Retry-After": {"schema": {"type": "integer", "minimum": 0}, "required": True}}}
# Every operation: a body over the limit (checked before routing), an invalid path or query
# parameter (every parameter passes the text check, declared or not), and the unexpected.
_EVERY_OPERATION = (413, 422, 500)
# Requests that change state are refused from a foreign Origin before routing, and every
# replace in the repository is conditional on the ETag the request read.
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_EVERY_CHANGE = (403, 412)
_REFUSALS: dict[Callable[..., Any], tuple[int, ...]] = {}


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


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's own problem answers, for its `responses=`: the statuses beyond the common
    ones and those of its dependencies."""
    return {status: _problem_response(status) for status in statuses}


def needs_module(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route whose webcast module must be on: its 409 names the one
    problem type of a switched-off module (ADR 0045), besides the route's own statuses."""
    answers = responses(409, *statuses)
    example = module_off(Module.polls)
    off = answers[409]
    off["description"] = (
        f"{_DESCRIPTIONS[409]}; type `{TYPE_BASE}{example.code}` when the webcast's module "
        "this route needs is switched off"
    )
    off["content"][PROBLEM_JSON]["example"] = {
        "type": TYPE_BASE + example.code,
        "title": example.title,
        "status": example.status,
        "detail": example.detail,
    }
    return answers


def refuses(*statuses: int) -> Callable[[Dependency], Dependency]:
    """Declares the problems a dependency answers with, for every route that depends on it."""

    def register(dependency: Dependency) -> Dependency:
        _REFUSALS[dependency] = statuses
        return dependency

    return register


def _refusals(dependant: Any) -> set[int]:
    found: set[int] = set()
    for dependency in dependant.dependencies:
        found.update(_REFUSALS.get(dependency.call, ()))
        found.update(_refusals(dependency))
    return found


def _document(schema: dict[str, Any], app: FastAPI) -> None:
    """Adds the problems each operation can answer with, and the Problem schema they share."""
    for context in routing.iter_route_contexts(app.routes):
        if not isinstance(context.original_route, routing.APIRoute):
            continue
        if not context.include_in_schema:
            continue
        path = context.path_format
        common = set(_EVERY_OPERATION) | _refusals(context.dependant)
        if "{" in str(path):
            common.add(404)
        for method in context.methods or ():
            statuses = common | set(_EVERY_CHANGE if method in _UNSAFE else ())
            answers = schema["paths"][path][method.lower()]["responses"]
            for status in statuses:
                declared = answers.get(str(status), {}).get("content", {})
                # FastAPI's own 422 (HTTPValidationError) is not what the API sends.
                if PROBLEM_JSON not in declared:
                    answers[str(status)] = _problem_response(status)
            ordered = dict(sorted(answers.items()))
            answers.clear()
            answers.update(ordered)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem_schema.pop("$defs", {}))
    components["Problem"] = problem_schema


def document(app: FastAPI) -> None:
    """The app's OpenAPI document declares every problem an operation can answer with."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        # FastAPI caches the document; it is completed once per generation.
        if "Problem" not in schema.get("components", {}).get("schemas", {}):
            _document(schema, app)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


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
