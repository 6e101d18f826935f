{% if database != "none" -%}
"""The ``{{ name }}`` table."""

from datetime import datetime

from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column

from {{ package_name }}.models.base import Base


class {{ name | pascal }}(Base):
    """A {{ name | title_words | lower }} record."""

    __tablename__ = "{{ name }}"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
{% else -%}
"""The ``{{ name | pascal }}`` model (a dataclass: choose a database for a table)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class {{ name | pascal }}:
    """A {{ name | title_words | lower }} record."""

    id: int
    name: str
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
{% endif -%}
