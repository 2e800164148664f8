"""Mail jobs carry ids only; addresses are looked up when the mail is sent."""

from pydantic import BaseModel, ConfigDict


class MailJob(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    tenant_id: str
    account_id: str
    idempotency_key: str
