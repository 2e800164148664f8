"""The operator CLI, run in-process against the emulators."""

import re

import pytest

from shared import cli
from shared.accounts.repository import PLATFORM_TENANT, find_by_email
from shared.audit import service as audit
from shared.audit.repository import entries as audit_entries
from shared.auth.models import Role
from shared.auth.passwords import verify_password
from shared.clock import utc_iso
from tests import helpers


def _value(output: str, label: str) -> str:
    match = re.search(rf"^{re.escape(label)}:\s+(\S+)", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def _create_tenant(email: str, *extra: str) -> int:
    argv = ["create-tenant", "--name", "CLI Customer", "--owner-email", email]
    return cli.main([*argv, "--owner-name", "Clara Owner", *extra])


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    commands = [
        "create-tenant",
        "create-support",
        "bootstrap",
        "verify-audit",
        "purge-expired",
        "deletion-status",
        "resume-deletion",
        "resume-account-deletion",
    ]
    for command in commands:
        assert command in shown


def test_create_tenant_generates_a_password_and_prints_it_once(stack, capsys):
    email = helpers.unique_email("cli-owner")
    status = _create_tenant(email)
    assert status == 0
    output = capsys.readouterr().out
    password = _value(output, "owner password")
    account = find_by_email(email)
    assert account is not None
    assert account.role == Role.owner
    assert account.tenant_id == _value(output, "tenant id")
    assert verify_password(account.password_hash, password)
    assert output.count(password) == 1
    assert account.password_hash not in output
    assert "argon2" not in output

    # The owner can sign in with it: password first, then MFA enrolment.
    response = helpers.client().post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    assert response.json()["stage"] == "enroll"


def test_create_tenant_with_a_given_password_does_not_print_it(stack, capsys):
    email = helpers.unique_email("cli-owner")
    status = _create_tenant(email, "--owner-password", helpers.PASSWORD)
    assert status == 0
    output = capsys.readouterr().out
    assert helpers.PASSWORD not in output
    account = find_by_email(email)
    assert account is not None
    assert verify_password(account.password_hash, helpers.PASSWORD)


def test_a_refused_input_exits_non_zero_with_the_reason(stack, capsys):
    email = helpers.unique_email("cli-owner")
    status = _create_tenant(email, "--owner-password", "short")
    assert status == 1
    assert "password" in capsys.readouterr().err
    assert find_by_email(email) is None


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--name", "  ", "--owner-email", "{email}", "--owner-name", "Clara"], "name"),
        (["--name", "Acme", "--owner-email", "not-an-address", "--owner-name", "Clara"], "email"),
        (["--name", "Acme", "--owner-email", " ", "--owner-name", "Clara"], "email"),
        (["--name", "Acme", "--owner-email", "{email}", "--owner-name", ""], "owner_name"),
    ],
)
def test_create_tenant_refuses_a_blank_name_or_a_bad_address_and_creates_nothing(
    stack, capsys, argv, field
):
    email = helpers.unique_email("cli-owner")
    before = _accounts_and_tenants()
    status = cli.main(["create-tenant", *[a.format(email=email) for a in argv]])
    assert status == 1
    error = capsys.readouterr().err
    assert field in error, error
    assert find_by_email(email) is None
    assert _accounts_and_tenants() == before


def _accounts_and_tenants() -> int:
    """Documents of the containers that tenants, accounts and login keys live in."""
    from shared.accounts.repository import login_keys, tenants

    query = "SELECT c.id FROM c"
    return sum(
        len(list(store.container.query_items(query, enable_cross_partition_query=True)))
        for store in (tenants, login_keys)
    )


def test_create_support(stack, capsys):
    email = helpers.unique_email("cli-support")
    status = cli.main(["create-support", "--email", email, "--name", "Vera Vendor"])
    assert status == 0
    output = capsys.readouterr().out
    password = _value(output, "password")
    account = find_by_email(email)
    assert account is not None
    assert account.role == Role.support
    assert account.tenant_id == PLATFORM_TENANT
    assert account.id == _value(output, "support account id")
    assert verify_password(account.password_hash, password)
    assert account.password_hash not in output


def test_verify_audit_passes_on_an_intact_log_and_fails_on_a_changed_entry(stack, capsys):
    email = helpers.unique_email("cli-audit")
    assert _create_tenant(email) == 0
    tenant_id = _value(capsys.readouterr().out, "tenant id")

    assert cli.main(["verify-audit", "--tenant-id", tenant_id]) == 0
    output = capsys.readouterr().out
    assert "result:          ok" in output
    assert int(_value(output, "entries checked")) >= 2

    partition = audit.partition_for(tenant_id, utc_iso())
    entry = next(audit_entries.iterate(tenant_id=tenant_id, partition_key=partition))
    entry.action = "tenant.nothing_happened"
    audit_entries.upsert(tenant_id=tenant_id, item=entry)

    assert cli.main(["verify-audit", "--tenant-id", tenant_id]) == 1
    output = capsys.readouterr().out
    assert "NOT OK" in output
    assert "was changed" in output


def test_bootstrap_and_purge_expired_run(stack, capsys):
    assert cli.main(["bootstrap"]) == 0
    assert cli.main(["purge-expired"]) == 0
    assert "expired sessions and tokens" in capsys.readouterr().out
