{% if database != "none" -%}
"""The ``items`` table."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from {{ package_name }}.models.base import Base


class Item(Base):
    """Something for sale."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000), default=None)
    price: Mapped[float] = mapped_column(default=0.0)
{% else -%}
"""The ``Item`` model, kept in memory."""

from dataclasses import dataclass


@dataclass
class Item:
    """Something for sale."""

    id: int
    name: str
    description: str | None = None
    price: float = 0.0
{% endif -%}
