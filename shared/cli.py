"""Operator commands: python -m shared.cli --help.

Every command goes through the same services as the API, so each write is audited.
Output is plain text; passwords are printed only when the command generated them, and
password hashes never.
"""

import argparse
import secrets
import string
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from shared.errors import DomainError

if TYPE_CHECKING:
    from shared.deletions.models import DeletionJob

GENERATED_PASSWORD_LENGTH = 24
_ALPHABET = string.ascii_letters + string.digits + "_"


def generate_password(*, context: tuple[str, ...] = ()) -> str:
    """A random password that passes the policy (~143 bits; safe to paste into a shell)."""
    from shared.auth.passwords import check_policy

    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_PASSWORD_LENGTH))
        try:
            check_policy(password, context=context)
        except DomainError:
            continue
        return password


def _print_error(error: DomainError, out: TextIO) -> None:
    print(f"error: {error.detail}", file=out)
    for invalid in error.errors:
        print(f"  {invalid.field}: {invalid.reason}", file=out)


def _create_tenant(args: argparse.Namespace, out: TextIO) -> int:
    from shared.accounts import service

    generated = args.owner_password is None
    password: str = args.owner_password or generate_password(
        context=(args.owner_name, args.owner_email.split("@")[0])
    )
    tenant, owner = service.create_tenant(
        name=args.name,
        owner_email=args.owner_email,
        owner_name=args.owner_name,
        owner_password=password,
    )
    print(f"tenant id:        {tenant.tenant_id}", file=out)
    print(f"tenant name:      {tenant.name}", file=out)
    print(f"owner account id: {owner.id}", file=out)
    print(f"owner e-mail:     {owner.email}", file=out)
    if generated:
        print(f"owner password:   {password}  (shown once; store it safely)", file=out)
    print("The owner sets up MFA (TOTP) at the first sign-in.", file=out)
    return 0


def _create_support(args: argparse.Namespace, out: TextIO) -> int:
    from shared.accounts import service

    generated = args.password is None
    password: str = args.password or generate_password(
        context=(args.name, args.email.split("@")[0])
    )
    account = service.create_support_account(
        email=args.email, display_name=args.name, password=password
    )
    print(f"support account id: {account.id}", file=out)
    print(f"e-mail:             {account.email}", file=out)
    if generated:
        print(f"password:           {password}  (shown once; store it safely)", file=out)
    print(
        "Support sets up MFA (TOTP) at the first sign-in and reaches a customer's data "
        "only through a grant of that customer's owner.",
        file=out,
    )
    return 0


def _bootstrap(args: argparse.Namespace, out: TextIO) -> int:
    from shared.bootstrap import ensure_local_resources
    from shared.config import get_settings

    ensure_local_resources()
    settings = get_settings()
    print(
        f"Containers and queues exist (database {settings.cosmos_database!r} at "
        f"{settings.cosmos_endpoint}).",
        file=out,
    )
    return 0


def _moment(value: str) -> str:
    from shared.audit.models import moment

    try:
        return moment(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _verify_audit(args: argparse.Namespace, out: TextIO) -> int:
    from shared.accounts.service import tenant_opened_at
    from shared.audit.service import period_months, verify

    # Month by month: one verification covers a bounded period, a long history is walked.
    months = period_months(
        tenant_id=args.tenant_id,
        since=args.since,
        until=args.until,
        opened_at=tenant_opened_at(args.tenant_id),
    )
    reports = [
        verify(tenant_id=args.tenant_id, since=f"{month}-01", until=f"{month}-01")
        for month in months
    ]
    problems = [problem for report in reports for problem in report.problems]
    print(f"tenant:          {args.tenant_id}", file=out)
    print(f"months checked:  {len(months)}", file=out)
    print(f"chains checked:  {sum(report.chains_checked for report in reports)}", file=out)
    print(f"entries checked: {sum(report.entries_checked for report in reports)}", file=out)
    print(f"result:          {'NOT OK' if problems else 'ok'}", file=out)
    for problem in problems:
        print(f"  - {problem}", file=out)
    return 1 if problems else 0


def _purge_expired(args: argparse.Namespace, out: TextIO) -> int:
    from shared.composition.maintenance import purge_expired

    removed = purge_expired()
    print(f"removed {removed} expired sessions and tokens", file=out)
    return 0


def _print_deletion(job: "DeletionJob", out: TextIO) -> None:
    from shared.deletions.service import view

    shown = view(job)
    print(f"deletion:   {shown.id}", file=out)
    print(f"webcast:    {shown.webcast_id} ({shown.webcast_slug})", file=out)
    print(f"reason:     {shown.reason}", file=out)
    print(f"state:      {shown.state}", file=out)
    if shown.failure:
        print(f"failure:    {shown.failure}", file=out)
    for label, sweep in (("first sweep", shown.first_sweep), ("second sweep", shown.second_sweep)):
        if sweep is None:
            continue
        print(f"{label} at {sweep.at}: {sweep.remaining} left", file=out)
        for store, count in sweep.stores.items():
            blocked = f", {count.kept_blocked} kept blocked" if count.kept_blocked else ""
            print(f"  {store}: {count.deleted} deleted, {count.remaining} left{blocked}", file=out)
    if shown.backups_gone_by:
        print(f"backups gone by: {shown.backups_gone_by}", file=out)


def _shown_deletion(job: "DeletionJob | None", out: TextIO) -> int:
    if job is None:
        print("error: no such deletion in this tenant", file=sys.stderr)
        return 1
    _print_deletion(job, out)
    return 0


def _deletion_status(args: argparse.Namespace, out: TextIO) -> int:
    from shared.deletions.service import find

    return _shown_deletion(find(tenant_id=args.tenant_id, job_id=args.deletion_id), out)


def _resume_deletion(args: argparse.Namespace, out: TextIO) -> int:
    from shared.deletions.service import resume

    return _shown_deletion(resume(tenant_id=args.tenant_id, job_id=args.deletion_id), out)


def _resume_account_deletion(args: argparse.Namespace, out: TextIO) -> int:
    from shared.deletions.accounts import resume

    job = resume(tenant_id=args.tenant_id)
    if job is None:
        print("error: this customer account is not being deleted", file=sys.stderr)
        return 1
    print(f"account deletion: {job.id}", file=out)
    print(f"state:            {job.state}", file=out)
    return 0


def _export_stores(args: argparse.Namespace, out: TextIO) -> int:
    from datetime import UTC, datetime

    from shared.composition.store_export import backup_target, export_stores

    manifest = export_stores(target=backup_target(), moment=datetime.now(UTC))
    for member in manifest["members"]:
        print(f"{member['container']}: {member['documents']} documents", file=out)
    print(f"exported under {manifest['exported_at']}/", file=out)
    return 0


def _find_person(args: argparse.Namespace, out: TextIO) -> int:
    from shared.composition.forwarding import controllers_holding
    from shared.participants.people import LoginKind

    named = [
        (kind, value)
        for kind, value in (
            (LoginKind.email, args.email),
            (LoginKind.username, args.username),
            (LoginKind.external_id, args.external_id),
        )
        if value
    ]
    if len(named) != 1:
        print(
            "error: name the person by exactly one of --email, --username, --external-id",
            file=sys.stderr,
        )
        return 2
    kind, value = named[0]
    found = controllers_holding(kind=kind, value=value.strip())
    if not found:
        print("no customer account holds data for this person", file=out)
    for contact in found:
        print(
            f"{contact.name} <{contact.contact_email}>  (customer account {contact.tenant_id})",
            file=out,
        )
    return 0


Handler = Callable[[argparse.Namespace, TextIO], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shared.cli",
        description="Operator commands for the webcast platform. Settings come from the "
        "WEBCAST_* environment (local emulators by default).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    tenant = commands.add_parser(
        "create-tenant",
        help="create a customer account with its owner",
        description="Create a customer account (tenant) with its one owner.",
    )
    tenant.add_argument("--name", required=True, help="the customer's name")
    tenant.add_argument("--owner-email", required=True, help="the owner's e-mail address")
    tenant.add_argument("--owner-name", required=True, help="the owner's display name")
    tenant.add_argument(
        "--owner-password",
        help="the owner's password; omit it to have a strong one generated and printed once",
    )
    tenant.set_defaults(handler=_create_tenant)

    support = commands.add_parser(
        "create-support",
        help="create a vendor support account",
        description="Create a vendor support account; it reaches tenants only via grants.",
    )
    support.add_argument("--email", required=True, help="the support person's e-mail address")
    support.add_argument("--name", required=True, help="the support person's display name")
    support.add_argument(
        "--password", help="the password; omit it to have a strong one generated and printed once"
    )
    support.set_defaults(handler=_create_support)

    bootstrap = commands.add_parser(
        "bootstrap",
        help="create the database, containers and queues on the local emulators",
        description="Create Cosmos containers, blob containers and queues (local only; "
        "Bicep creates them in Azure).",
    )
    bootstrap.set_defaults(handler=_bootstrap)

    audit = commands.add_parser(
        "verify-audit",
        help="check a tenant's hash-chained audit log (exit 1 when broken)",
        description="Recompute the tenant's audit chains; exit status 1 when an entry was "
        "changed or removed.",
    )
    audit.add_argument("--tenant-id", required=True, help="the tenant to check")
    audit.add_argument(
        "--since", type=_moment, help="start of the period, ISO 8601 (default: this month)"
    )
    audit.add_argument("--until", type=_moment, help="end of the period, ISO 8601 (default: now)")
    audit.set_defaults(handler=_verify_audit)

    purge = commands.add_parser(
        "purge-expired",
        help="delete expired sessions and one-time tokens",
        description="Delete sessions past their idle or absolute limit and expired tokens.",
    )
    purge.set_defaults(handler=_purge_expired)

    for name, handler, summary in (
        ("deletion-status", _deletion_status, "show a webcast deletion's state and counts"),
        ("resume-deletion", _resume_deletion, "queue a failed webcast deletion again"),
    ):
        command = commands.add_parser(
            name, help=summary, description=summary[0].upper() + summary[1:] + "."
        )
        command.add_argument("--tenant-id", required=True, help="the customer account")
        command.add_argument("--deletion-id", required=True, help="the deletion job")
        command.set_defaults(handler=handler)

    account = commands.add_parser(
        "resume-account-deletion",
        help="queue a failed customer account deletion again",
        description="Queue a failed deletion of a whole customer account again, with its "
        "failed webcast deletions (nobody of the account can sign in to do it).",
    )
    account.add_argument("--tenant-id", required=True, help="the customer account")
    account.set_defaults(handler=_resume_account_deletion)

    export = commands.add_parser(
        "export-stores",
        help="export every Cosmos DB container into the separate backup account",
        description="Write every container's documents as JSON Lines, with a manifest, into "
        "the backup account (WEBCAST_BACKUP_ACCOUNT_URL); the scheduled backup job runs it.",
    )
    export.set_defaults(handler=_export_stores)

    person = commands.add_parser(
        "find-person",
        help="which customer accounts hold data about a person (to forward a request)",
        description="For a data-subject request sent to the vendor: the controllers (name and "
        "contact) whose webcasts hold participants by this e-mail address, user name or "
        "external identity. Audited under the platform, without the value.",
    )
    person.add_argument("--email", help="the person's e-mail address")
    person.add_argument("--username", help="a user name the person signs in with")
    person.add_argument("--external-id", help="the identity a customer's server embeds them by")
    person.set_defaults(handler=_find_person)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run one command; returns the exit status."""
    stream = out or sys.stdout
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    from shared.bootstrap import LocalOnlyError

    try:
        return handler(args, stream)
    except DomainError as error:
        _print_error(error, sys.stderr)
        return 1
    except LocalOnlyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
