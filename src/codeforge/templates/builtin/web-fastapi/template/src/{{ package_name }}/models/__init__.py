{% if database != "none" -%}
"""ORM models: importing this package registers every table on ``Base.metadata``."""

from {{ package_name }}.models.base import Base as Base
{% else -%}
"""Domain models (plain dataclasses: choose a database to get SQLAlchemy models)."""

{% endif -%}
from {{ package_name }}.models.item import Item as Item
# codeforge:models
