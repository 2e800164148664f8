"""The security review in one command: `make security` (`python -m security`).

It starts its own emulators on free ports and fuzzes every operation of the OpenAPI
document in process with schemathesis: anonymous, as an owner with data, stateful along
the links schemathesis infers, and the deleting and session-ending operations each with
fresh owners. Beside it run ruff's security rules (`S`), the project's semgrep rules
(`semgrep/`) and the make-test files of the review (tenant isolation, hostile
inputs). The run passes when no check finds anything.

The summary is printed and written to `.local/security/last-run.json`, one object:

- `date` (UTC, ISO 8601), `commit` (the checked-out commit), `dirty` (uncommitted changes),
  `seconds` (the whole run), `passed` (true when every figure below is clean);
- `settings`: `examples_per_operation`, `stateful_scenarios`, `stateful_steps`;
- `operations`, `destructive_operations`: how many operations the schema has, and how many
  of them delete or end the session;
- `requests`: requests sent per phase (`anonymous`, `owner`, `stateful`, `destructive`)
  and `fresh_owners` (sign-ins with fresh data the phases made);
- `server_errors`: 5xx answers and exceptions the app did not handle;
- `conformance_failures`: per check (`status_code_conformance`, `content_type_conformance`,
  `response_schema_conformance`, `response_headers_conformance`), the failing responses;
- `failures`: per check, up to 50 distinct failures (operation, message, curl command);
- `cut_short`: the operations (per phase) whose examples stopped after a minute;
- `notes` (e.g. the links schemathesis inferred) and `runner_errors` (an operation the
  runner could not fuzz: the run fails);
- `ruff`, `semgrep`, `semgrep_rules`, `tests`: each `ok` and `seconds`; `findings` (ruff's
  S rules, semgrep over the repository), the `summary` of the rules' own examples
  (`semgrep --test`), and the pytest `files` and `summary` (tests).
"""
