"""Domain errors; the API turns each into an RFC 9457 problem document."""

from dataclasses import dataclass, field

from pydantic import ValidationError


@dataclass
class InvalidField:
    """One wrong input field: its location (e.g. 'body.email') and why."""

    field: str
    reason: str


@dataclass
class DomainError(Exception):
    """A failure the caller can act on."""

    detail: str
    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"
    errors: list[InvalidField] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def validation_error(field_name: str, reason: str) -> DomainError:
    return DomainError(
        detail=reason,
        status=422,
        code="validation-error",
        title="Invalid input",
        errors=[InvalidField(field=field_name, reason=reason)],
    )


def not_found(what: str) -> DomainError:
    return DomainError(
        detail=f"{what} was not found", status=404, code="not-found", title="Not found"
    )


def forbidden(detail: str = "You may not do this") -> DomainError:
    return DomainError(detail=detail, status=403, code="forbidden", title="Forbidden")


def unauthorized(detail: str = "Sign in first") -> DomainError:
    return DomainError(detail=detail, status=401, code="unauthorized", title="Unauthorized")


def conflict(detail: str, field_name: str | None = None) -> DomainError:
    errors = [InvalidField(field=field_name, reason=detail)] if field_name else []
    return DomainError(detail=detail, status=409, code="conflict", title="Conflict", errors=errors)


def precondition_failed() -> DomainError:
    return DomainError(
        detail="The resource changed since you read it; reload and try again",
        status=412,
        code="precondition-failed",
        title="Precondition failed",
    )


def too_many_requests(retry_after: int) -> DomainError:
    return DomainError(
        detail="Too many failed attempts; try again later",
        status=429,
        code="too-many-requests",
        title="Too many requests",
        headers={"Retry-After": str(retry_after)},
    )


def invalid_input(error: ValidationError) -> DomainError:
    """A pydantic validation failure of a service's input, one entry per wrong field."""
    errors = [
        InvalidField(field=".".join(str(part) for part in e["loc"]) or "input", reason=e["msg"])
        for e in error.errors()
    ]
    return invalid_fields(errors)


def invalid_fields(errors: list[InvalidField]) -> DomainError:
    """422 naming every wrong field; the detail names the first."""
    return DomainError(
        detail=f"{errors[0].field}: {errors[0].reason}",
        status=422,
        code="validation-error",
        title="Invalid input",
        errors=errors,
    )
