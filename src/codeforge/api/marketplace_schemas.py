"""Request and response bodies of the marketplace: listings, stars, groups."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from codeforge.api.schemas import NAME_PATTERN, Input, Output
from codeforge.app.groups import GROUP_PATTERN

GroupName = Annotated[str, Field(pattern=GROUP_PATTERN, max_length=100)]


class ListingUpdate(Input):
    """What to change about a blueprint; a field left out stays as it is."""

    visibility: Literal["public", "private"] | None = Field(
        None, description="The owner's or an admin's choice; built-ins are always public"
    )
    groups: Annotated[list[GroupName], Field(max_length=100)] | None = Field(
        None, description="The groups a private blueprint is shared with (owner or admin)"
    )
    featured: bool | None = None
    deprecated: bool | None = None
    replacement: Annotated[str, Field(pattern=NAME_PATTERN, max_length=100)] | None = Field(
        None, description="The blueprint to use instead (required with deprecated: true)"
    )


class StarPublic(Output):
    name: str
    starred: bool
    stars: int


class GroupCreate(Input):
    name: GroupName


class GroupPublic(Output):
    name: str
    members: list[str]
