"""The schemathesis phases of `make security`: per operation (anonymous, owner), stateful,
and the session-ending and deleting operations, each with fresh owners around them."""

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from functions.api.deps import ADMIN_COOKIE, CSRF_HEADER
from tests import helpers
from tests.owner_data import SESSION_CHANGING, owner_with_data

SERVER_ERROR = "not_a_server_error"
CONFORMANCE_CHECKS: dict[str, Callable[..., Any]] = {
    "status_code_conformance": status_code_conformance,
    "content_type_conformance": content_type_conformance,
    "response_schema_conformance": response_schema_conformance,
    "response_headers_conformance": response_headers_conformance,
}
CHECKS: dict[str, Callable[..., Any]] = {SERVER_ERROR: not_a_server_error} | CONFORMANCE_CHECKS
# A session-ending or deleting operation gets a fresh owner after each success (it consumed
# the session or the data), at most this often; later examples meet the ended session.
FRESH_OWNERS_PER_OPERATION = 2
# The share of an operation's examples sent anonymously: most operations answer 401 before
# they read the body, so the rest go to the signed-in phases, which get past that.
ANONYMOUS_SHARE = 0.25
# An operation's examples in one phase stop after this long (a slow operation, such as the
# exact poll results that fold 32 shards per call, must not take the run's whole budget).
OPERATION_SECONDS = 60.0
# Failures listed in full per check; the rest are only counted.
LISTED_PER_CHECK = 50


@dataclass
class Findings:
    """What the phases sent and found, by phase and by check."""

    requests: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    fresh_owners: int = 0
    # "phase operation" of the operations whose examples OPERATION_SECONDS cut short.
    cut_short: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The runner's own failures (a strategy that generates nothing, say): the run fails.
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sent(self, phase: str) -> None:
        with self.lock:
            self.requests[phase] += 1

    def record(self, check: str, line: str) -> None:
        with self.lock:
            self.failures[check] += 1
            listed = self.examples.setdefault(check, [])
            if len(listed) < LISTED_PER_CHECK and line not in listed:
                listed.append(line)


@dataclass
class SignedIn:
    """An owner with one of each thing in a webcast, and the headers of its session."""

    owner: helpers.Admin
    ids: dict[str, str]

    @classmethod
    def fresh(cls) -> "SignedIn":
        owner, ids = owner_with_data()
        return cls(owner=owner, ids=ids)

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Cookie": f"{ADMIN_COOKIE}={self.owner.client.cookies[ADMIN_COOKIE]}",
            CSRF_HEADER: self.owner.csrf,
        }

    def alive(self) -> bool:
        return self.owner.get("/api/auth/session").status_code == 200


def is_destructive(operation: Any) -> bool:
    """Deletions and the calls that end or change the caller's own session."""
    method = operation.method.upper()
    return method == "DELETE" or (method, operation.path) in SESSION_CHANGING


def validate(case: Any, response: Any, findings: Findings, phase: str) -> None:
    """Runs each check on its own, so every failure is counted under the check that saw it."""
    for name, check in CHECKS.items():
        try:
            case.validate_response(response, checks=[check])
        except (AssertionError, BaseExceptionGroup) as error:
            findings.record(
                name, f"[{phase}] {case.operation.label}: {_what(error)}: {_curl(case)}"
            )


def _what(error: BaseException) -> str:
    """The failure's title and the first line of its message (inside a group if need be)."""
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(_what(inner) for inner in error.exceptions)
    title = getattr(error, "title", type(error).__name__)
    message = str(getattr(error, "message", error)).strip()
    return f"{title} ({message.splitlines()[0]})" if message else str(title)


def _curl(case: Any) -> str:
    try:
        return str(case.as_curl_command())
    except Exception as error:  # the command is for the report only
        return f"(no curl command: {error})"


def _settings(examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )


class _TimeUpError(Exception):
    """Ends an operation's examples once OPERATION_SECONDS have passed."""


def fuzz_operation(
    operation: Any,
    *,
    examples: int,
    phase: str,
    findings: Findings,
    signed_in: Callable[[], SignedIn | None],
    after_success: Callable[[], None] = lambda: None,
) -> None:
    """Sends the operation's valid and invalid examples with the session `signed_in` gives."""
    current = signed_in()
    known = {} if current is None else current.ids
    path_parameters = {k: v for k, v in known.items() if f"{{{k}}}" in operation.path}
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=path_parameters),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=path_parameters),
    )

    started = time.monotonic()

    @_settings(examples)
    @hypothesis.given(case=strategy)
    def run(case: Any) -> None:
        if time.monotonic() - started > OPERATION_SECONDS:
            raise _TimeUpError
        session = signed_in()
        if session is not None:
            case.path_parameters = {
                **case.path_parameters,
                **{k: v for k, v in session.ids.items() if k in path_parameters},
            }
        findings.sent(phase)
        try:
            # The in-process client re-raises what the app did not handle: a 500 as well.
            response = case.call(headers={} if session is None else session.headers)
        except Exception as error:
            findings.record(
                SERVER_ERROR, f"[{phase}] {operation.label}: unhandled {error!r}: {_curl(case)}"
            )
            return
        validate(case, response, findings, phase)
        if 200 <= response.status_code < 300:
            after_success()

    try:
        run()
    except _TimeUpError:
        with findings.lock:
            findings.cut_short.append(f"{phase} {operation.label}")
    except Exception as error:
        findings.errors.append(f"[{phase}] {operation.label}: {error!r}")
    print(f"    [{phase}] {operation.label}: {time.monotonic() - started:.1f} s", flush=True)


def per_operation(
    operations: Iterable[Any],
    *,
    examples: int,
    findings: Findings,
    owner: SignedIn | None,
    workers: int,
) -> None:
    """The anonymous (owner None) or owner phase over operations that keep the session,
    several operations at a time (the app waits on the emulators for most of a request)."""
    phase = "anonymous" if owner is None else "owner"
    chosen = [op for op in operations if owner is None or not is_destructive(op)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done in [
            pool.submit(
                fuzz_operation,
                operation,
                examples=examples,
                phase=phase,
                findings=findings,
                signed_in=lambda: owner,
            )
            for operation in chosen
        ]:
            done.result()
    if owner is not None and not owner.alive():
        findings.notes.append("the owner phase lost its session")


@dataclass
class FreshOwners:
    """The owner a destructive operation runs as, replaced after each success (the call
    used up the session or the data), at most FRESH_OWNERS_PER_OPERATION times."""

    findings: Findings
    current: SignedIn = field(init=False)
    renewals: int = 0

    def __post_init__(self) -> None:
        self.current = self._new()

    def _new(self) -> SignedIn:
        self.findings.fresh_owners += 1
        return SignedIn.fresh()

    def now(self) -> SignedIn:
        return self.current

    def renew(self) -> None:
        if self.renewals < FRESH_OWNERS_PER_OPERATION:
            self.renewals += 1
            self.current = self._new()


def destructive(operations: Iterable[Any], *, examples: int, findings: Findings) -> None:
    """Each deleting or session-ending operation with fresh owners and fresh data (one at a
    time: a sign-in moves the shared test clock for its TOTP code)."""
    for operation in operations:
        if not is_destructive(operation):
            continue
        owners = FreshOwners(findings)
        fuzz_operation(
            operation,
            examples=examples,
            phase="destructive",
            findings=findings,
            signed_in=owners.now,
            after_success=owners.renew,
        )


def stateful(schema: Any, *, scenarios: int, steps: int, findings: Findings) -> None:
    """Chains of calls along the links schemathesis infers (create, then read, update,
    delete), as a fresh owner; calls that end the session are left to the phase above."""
    owner = SignedIn.fresh()
    findings.fresh_owners += 1
    excluded = sorted(f"{method} {path}" for method, path in SESSION_CHANGING)
    machine = schema.exclude(name=excluded).as_state_machine()

    class OwnerMachine(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": owner.headers}

        def step(self, input: Any) -> Any:
            findings.sent("stateful")
            try:
                return super().step(input)
            except Exception as error:
                findings.record(
                    SERVER_ERROR,
                    f"[stateful] {input.case.operation.label}: unhandled {error!r}: "
                    + _curl(input.case),
                )
                hypothesis.reject()

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            validate(case, response, findings, "stateful")

    # One hypothesis run per scenario, each with its own seed: within one run hypothesis
    # expects the same choices to lead to the same steps, but the app's state (what earlier
    # scenarios created) changes which links can be followed, and it stops the whole phase as
    # flaky. Separate runs keep every scenario and keep each one repeatable by its seed.
    settings = hypothesis.settings(_settings(1), stateful_step_count=steps)
    for scenario in range(scenarios):
        hypothesis.seed(scenario)(OwnerMachine).run(settings=settings)
    transitions = schema.statistic.transitions
    findings.notes.append(f"stateful: {transitions.total} links inferred")


def load_schema() -> Any:
    from functions.api.app import create_app

    return schemathesis.openapi.from_asgi("/api/openapi.json", create_app())


def split(examples: int) -> tuple[int, int]:
    """An operation's examples: how many anonymous, how many signed in."""
    anonymous = max(1, round(examples * ANONYMOUS_SHARE))
    return anonymous, max(1, examples - anonymous)


def run_all(
    *, examples: int, scenarios: int, steps: int, workers: int
) -> tuple[Findings, dict[str, Any]]:
    """All phases against the stack already set up in this process."""
    anonymous, signed_in = split(examples)
    schema = load_schema()
    operations = [result.ok() for result in schema.get_all_operations()]
    findings = Findings()
    seconds: dict[str, float] = {}

    def timed(name: str, body: Callable[[], None]) -> None:
        started = time.monotonic()
        body()
        seconds[name] = round(time.monotonic() - started, 1)
        print(
            f"  {name}: {findings.requests[name]} requests in {seconds[name]} s, "
            f"{sum(findings.failures.values())} failures so far",
            flush=True,
        )

    timed(
        "anonymous",
        lambda: per_operation(
            operations, examples=anonymous, findings=findings, owner=None, workers=workers
        ),
    )
    timed(
        "owner",
        lambda: per_operation(
            operations,
            examples=signed_in,
            findings=findings,
            owner=SignedIn.fresh(),
            workers=workers,
        ),
    )
    timed("stateful", lambda: stateful(schema, scenarios=scenarios, steps=steps, findings=findings))
    timed("destructive", lambda: destructive(operations, examples=signed_in, findings=findings))
    summary = {
        "operations": len(operations),
        "destructive_operations": sum(1 for op in operations if is_destructive(op)),
        "phase_seconds": seconds,
    }
    return findings, summary
