"""CRUD endpoints for items."""

{% if database != "none" -%}
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from {{ package_name }}.db import get_session
from {{ package_name }}.models import Item
from {{ package_name }}.schemas import ItemCreate, ItemRead

router = APIRouter(prefix="/items", tags=["items"])

SessionDep = Annotated[Session, Depends(get_session)]


def _get_or_404(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Item not found")
    return item


@router.get("")
def list_items(
    session: SessionDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> list[ItemRead]:
    """List items, oldest first."""
    query = select(Item).order_by(Item.id).offset(offset).limit(limit)
    return [ItemRead.model_validate(item) for item in session.scalars(query)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_item(body: ItemCreate, session: SessionDep) -> ItemRead:
    """Create an item."""
    item = Item(**body.model_dump())
    session.add(item)
    session.commit()
    session.refresh(item)
    return ItemRead.model_validate(item)


@router.get("/{item_id}")
def read_item(item_id: int, session: SessionDep) -> ItemRead:
    """Return one item."""
    return ItemRead.model_validate(_get_or_404(session, item_id))


@router.put("/{item_id}")
def update_item(item_id: int, body: ItemCreate, session: SessionDep) -> ItemRead:
    """Replace an item."""
    item = _get_or_404(session, item_id)
    for field, value in body.model_dump().items():
        setattr(item, field, value)
    session.commit()
    session.refresh(item)
    return ItemRead.model_validate(item)


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_item(item_id: int, session: SessionDep) -> None:
    """Delete an item."""
    session.delete(_get_or_404(session, item_id))
    session.commit()
{% else -%}
import itertools
import threading
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from {{ package_name }}.models import Item
from {{ package_name }}.schemas import ItemCreate, ItemRead

router = APIRouter(prefix="/items", tags=["items"])

# An in-memory store: it is lost on restart. Choose a database for persistence.
_items: dict[int, Item] = {}
_ids = itertools.count(1)
_lock = threading.Lock()


def _get_or_404(item_id: int) -> Item:
    item = _items.get(item_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Item not found")
    return item


@router.get("")
def list_items(
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> list[ItemRead]:
    """List items, oldest first."""
    items = sorted(_items.values(), key=lambda item: item.id)[offset : offset + limit]
    return [ItemRead.model_validate(item) for item in items]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_item(body: ItemCreate) -> ItemRead:
    """Create an item."""
    with _lock:
        item = Item(id=next(_ids), **body.model_dump())
        _items[item.id] = item
    return ItemRead.model_validate(item)


@router.get("/{item_id}")
def read_item(item_id: int) -> ItemRead:
    """Return one item."""
    return ItemRead.model_validate(_get_or_404(item_id))


@router.put("/{item_id}")
def update_item(item_id: int, body: ItemCreate) -> ItemRead:
    """Replace an item."""
    item = _get_or_404(item_id)
    with _lock:
        updated = Item(id=item.id, **body.model_dump())
        _items[item.id] = updated
    return ItemRead.model_validate(updated)


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_item(item_id: int) -> None:
    """Delete an item."""
    _get_or_404(item_id)
    with _lock:
        _items.pop(item_id, None)
{% endif -%}
