"""Hand mail jobs to the mail queue."""

from shared.clients import queue_client
from shared.mail.models import MailJob


def enqueue(*, kind: str, tenant_id: str, account_id: str, idempotency_key: str) -> None:
    job = MailJob(
        kind=kind, tenant_id=tenant_id, account_id=account_id, idempotency_key=idempotency_key
    )
    queue_client("mail").send_message(job.model_dump_json().encode())
