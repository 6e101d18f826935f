"""CRUD endpoints for ``/{{ name | kebab }}`` (kept in memory: back them with a model)."""

import itertools
import threading

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

router = APIRouter(prefix="/{{ name | kebab }}", tags=["{{ name | kebab }}"])


class {{ name | pascal }}In(BaseModel):
    """Body of a create or replace request."""

    name: str = Field(min_length=1, max_length=200)


class {{ name | pascal }}Out({{ name | pascal }}In):
    """A stored record."""

    id: int


_store: dict[int, {{ name | pascal }}Out] = {}
_ids = itertools.count(1)
_lock = threading.Lock()


def _get_or_404(record_id: int) -> {{ name | pascal }}Out:
    record = _store.get(record_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Not found")
    return record


@router.get("")
def list_{{ name }}() -> list[{{ name | pascal }}Out]:
    """List every record."""
    return sorted(_store.values(), key=lambda record: record.id)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_{{ name }}(body: {{ name | pascal }}In) -> {{ name | pascal }}Out:
    """Create a record."""
    with _lock:
        record = {{ name | pascal }}Out(id=next(_ids), **body.model_dump())
        _store[record.id] = record
    return record


@router.get("/{record_id}")
def read_{{ name }}(record_id: int) -> {{ name | pascal }}Out:
    """Return one record."""
    return _get_or_404(record_id)


@router.put("/{record_id}")
def update_{{ name }}(record_id: int, body: {{ name | pascal }}In) -> {{ name | pascal }}Out:
    """Replace a record."""
    _get_or_404(record_id)
    with _lock:
        record = {{ name | pascal }}Out(id=record_id, **body.model_dump())
        _store[record_id] = record
    return record


@router.delete("/{record_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_{{ name }}(record_id: int) -> None:
    """Delete a record."""
    _get_or_404(record_id)
    with _lock:
        _store.pop(record_id, None)
