"""``POST /blueprints/{name}/star``: the catalog card's star button, a plain form with the
session's CSRF token (it works without JavaScript). The API's own use case, so the same
checks: any signed-in user, and a blueprint they may not see is a 404 like a missing one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from codeforge.api.schemas import NAME_PATTERN
from codeforge.app import listings
from codeforge.errors import CodeForgeError
from codeforge.web.session import check_form, ctx_of, page, viewer

router = APIRouter()

NameParam = Annotated[str, Path(pattern=NAME_PATTERN, max_length=100)]


def back_to(target: object) -> str:
    """Where to go after the form: a catalog URL on this site (never another host)."""
    if not isinstance(target, str) or len(target) > 1000:
        return "/"
    if target.startswith("/?") and "\\" not in target and "\n" not in target:
        return target
    return "/"


@router.post("/blueprints/{name}/star")
async def star(request: Request, name: NameParam) -> Response:
    """Star (``on=1``) or unstar (``on=0``) the blueprint; back to the catalog as it was."""
    form = await request.form()
    who = await run_in_threadpool(viewer, request)
    check_form(form, who)
    on = form.get("on") == "1"
    try:
        await run_in_threadpool(listings.set_star, ctx_of(request), who.principal, name, on)
    except CodeForgeError as exc:
        return page("error.html", exc.http_status, who=who, error=exc)
    return RedirectResponse(back_to(form.get("next")), status_code=303)
