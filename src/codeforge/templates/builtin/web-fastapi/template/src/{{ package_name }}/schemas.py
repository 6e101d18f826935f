"""Request and response bodies."""

from pydantic import BaseModel, ConfigDict, Field


class ItemCreate(BaseModel):
    """Body of ``POST /items`` and ``PUT /items/{item_id}``."""

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    price: float = Field(default=0.0, ge=0)


class ItemRead(ItemCreate):
    """An item as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
