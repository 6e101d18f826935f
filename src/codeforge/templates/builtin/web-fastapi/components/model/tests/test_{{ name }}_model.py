"""Tests for the ``{{ name | pascal }}`` model."""

{% if database != "none" -%}
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from {{ package_name }}.models import Base, {{ name | pascal }}


def test_{{ name }}_round_trip() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add({{ name | pascal }}(name="example"))
        session.commit()
        stored = session.scalars(select({{ name | pascal }})).one()
        assert stored.id == 1
        assert stored.name == "example"
        assert stored.created_at is not None
    engine.dispose()
{% else -%}
from {{ package_name }}.models import {{ name | pascal }}


def test_{{ name }}_defaults() -> None:
    record = {{ name | pascal }}(id=1, name="example")
    assert record.name == "example"
    assert record.created_at.tzinfo is not None
{% endif -%}
