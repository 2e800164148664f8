"""The operation helper writes the document before its entry and names the changed fields."""

from typing import Any

import pytest
from pydantic import BaseModel

from shared.audit import operations
from shared.audit import service as audit
from shared.audit.models import SYSTEM_ACTOR
from shared.cosmos.repository import Document, TenantRepository


class Note(Document):
    doc_type = "note"

    tenant_id: str
    text: str = ""
    tags: list[str] = []


class NoteUpdate(BaseModel):
    text: str | None = None
    tags: list[str] | None = None


class FakeNotes(TenantRepository[Note]):
    """Stands in for the document store; only the audit append boundary is faked besides."""

    def __init__(self, steps: list[str], *, refuse: bool = False) -> None:
        super().__init__(container="notes", model=Note)
        self.steps, self.refuse = steps, refuse

    def replace(self, *, tenant_id: str, item: Note) -> Note:
        if self.refuse:
            raise RuntimeError("the store refused the write")
        self.steps.append(f"replace {item.id}")
        return item


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []

    def append(**fields: Any) -> None:
        seen.append(f"append {fields['action']} {fields['entity_id']} {fields['changed_fields']}")

    monkeypatch.setattr(audit, "record", append)
    return seen


def _replace(notes: FakeNotes, note: Note) -> Note:
    return operations.replace(
        notes,
        tenant_id="t1",
        item=note,
        actor=SYSTEM_ACTOR,
        action="note.update",
        entity_type="note",
        changed_fields=operations.changed_fields(NoteUpdate(text="new", tags=None), note),
    )


def test_the_document_is_written_before_its_entry(steps: list[str]) -> None:
    note = Note(id="n1", tenant_id="t1", text="old")
    _replace(FakeNotes(steps), note)
    assert steps == ["replace n1", "append note.update n1 ['text']"]


def test_a_refused_write_appends_no_entry(steps: list[str]) -> None:
    with pytest.raises(RuntimeError):
        _replace(FakeNotes(steps, refuse=True), Note(id="n1", tenant_id="t1"))
    assert steps == []


def test_changed_fields_are_the_set_fields_whose_value_differs() -> None:
    stored = Note(id="n1", tenant_id="t1", text="same", tags=["a"])
    assert operations.changed_fields(NoteUpdate(text="same", tags=["b"]), stored) == ["tags"]
    assert operations.changed_fields(NoteUpdate(text=None), stored) == []
    assert operations.changed_fields(NoteUpdate(), stored) == []
