"""``POST /blueprints/{name}/listing``: the maintainers' marks on the blueprint's page.

Two plain forms with the session's CSRF token (they work without JavaScript): mark the
blueprint featured or not, and deprecate it with a named replacement or clear that. The
same role check as ``PATCH /api/v1/blueprints/{name}`` (maintainer or admin: a member
gets 403) and the same use case (:func:`codeforge.app.listings.update_listing`), so the
same validation, visibility 404s and ``blueprint.listing`` activity row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from codeforge.api.schemas import NAME_PATTERN
from codeforge.app import listings
from codeforge.errors import CodeForgeError, ValidationError
from codeforge.web.blueprint import show
from codeforge.web.session import Viewer, ctx_of, posted, require_role

router = APIRouter()

NameParam = Annotated[str, Path(pattern=NAME_PATTERN, max_length=100)]
ON_OFF = {"1": True, "0": False}


def _flag(form: Mapping[str, str], key: str) -> bool | None:
    """The posted ``key`` as on (1) or off (0); None when the form does not send it."""
    value = form.get(key)
    if value is None:
        return None
    if value not in ON_OFF:
        raise ValidationError(f"{key} must be 1 or 0, not {value[:40]!r}", where=key)
    return ON_OFF[value]


def change_of(form: Mapping[str, str]) -> listings.ListingChange:
    """What the posted form asks for (the replacement only goes with deprecating)."""
    featured, deprecated = _flag(form, "featured"), _flag(form, "deprecated")
    if featured is None and deprecated is None:
        raise ValidationError("the form sent no mark to change", where="featured")
    replacement = form.get("replacement", "").strip() if deprecated else None
    return listings.ListingChange(featured=featured, deprecated=deprecated, replacement=replacement)


def _mark(request: Request, who: Viewer, name: str, form: Mapping[str, str]) -> Response:
    try:
        change = change_of(form)
        listings.update_listing(ctx_of(request), who.principal, who.principal.name, name, change)
    except CodeForgeError as exc:
        typed = form.get("replacement", "")[:100]
        return show(
            request, who, name, None, exc.http_status, listing_error=exc, typed_replacement=typed
        )
    return RedirectResponse(f"/blueprints/{quote(name)}", status_code=303)


@router.post("/blueprints/{name}/listing")
async def mark(request: Request, name: NameParam) -> Response:
    """Change the marks; back to the blueprint's page (its form again, with the error)."""
    who, form = await posted(request)
    require_role(who, "maintainer")
    return await run_in_threadpool(_mark, request, who, name, form)
