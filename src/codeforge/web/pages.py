"""Sign in, sign out, and the catalog (``/``)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Final

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from codeforge.api.config import COOKIE_NAME, PLAIN_TEXT
from codeforge.app import catalog, listings
from codeforge.app.context import AppContext
from codeforge.app.marketplace import SORTS
from codeforge.web.session import (
    LOGIN_CSRF_COOKIE,
    Viewer,
    check_form,
    ctx_of,
    find_viewer,
    login_token_matches,
    new_login_token,
    page,
    viewer,
)

router = APIRouter()

MAX_QUERY: Final = 200
MAX_DESCRIBE: Final = 2000
TOP_RECOMMENDED: Final = 3
DESCRIBE_HINT: Final = "describe what you want to build in a few words"


@dataclasses.dataclass(frozen=True)
class Card:
    name: str
    description: str
    tags: list[str]
    version: str
    uses: int
    stars: int = 0
    starred: bool = False
    featured: bool = False
    deprecated: bool = False
    replacement: str | None = None


def _login_page(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    token = new_login_token()
    response = page("login.html", status, user=None, error=error, login_token=token)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=1800,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=ctx_of(request).config.session_cookie_secure,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    """The sign-in form (a signed-in user goes to the catalog)."""
    if find_viewer(request) is not None:
        return RedirectResponse("/", status_code=303)
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Sign in with a name and password: the API's own login, so the same cookie and checks."""
    from pydantic import ValidationError as InputError

    from codeforge.api.routes.session import LoginRequest
    from codeforge.api.routes.session import login as api_login

    form = await request.form()
    if not login_token_matches(request, form.get("csrf_token")):
        return _login_page(request, "the sign-in form expired: try again", 403)
    name, password = form.get("name"), form.get("password")
    try:
        body = LoginRequest(
            name=name if isinstance(name, str) else None,
            password=password if isinstance(password, str) else None,
        )
    except InputError:
        return _login_page(request, "give your name and password", 422)
    done = RedirectResponse("/", status_code=303)
    try:
        await run_in_threadpool(api_login, body, request, done, ctx_of(request))
    except HTTPException as exc:
        return _login_page(request, str(exc.detail), exc.status_code)
    done.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return done


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Sign out (the form carries the CSRF token); back to the sign-in page."""
    from codeforge.api.routes.session import end_session

    form = await request.form()
    who = await run_in_threadpool(viewer, request)
    check_form(form, who)
    await run_in_threadpool(
        end_session,
        ctx_of(request),
        request.app.state.sessions,
        who.cookie,
        who.principal.id,
    )
    done = RedirectResponse("/login", status_code=303)
    done.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return done


def _matches(entry: catalog.Entry, words: list[str], tag: str | None) -> bool:
    if tag and tag not in entry.tags:
        return False
    text = " ".join([entry.name, entry.description, *entry.tags]).lower()
    return all(word in text for word in words)


SORT_PATTERN: Final = "^(" + "|".join(SORTS) + ")?$"


def _cards(
    ctx: AppContext, entries: list[catalog.Entry], uses: dict[str, int], starred: set[str]
) -> list[Card]:
    market = catalog.snapshot(ctx).market
    cards = []
    for e in entries:
        listing = market.listing(e.name)
        cards.append(
            Card(
                e.name,
                e.description,
                list(e.tags),
                e.version,
                uses.get(e.name, 0),
                market.stars.get(e.name, 0),
                e.name in starred,
                listing.featured,
                listing.deprecated,
                listing.replacement,
            )
        )
    return cards


@router.get("/", response_class=HTMLResponse)
def catalog_page(
    request: Request,
    q: Annotated[str, Query(max_length=MAX_QUERY, pattern=PLAIN_TEXT)] = "",
    tag: Annotated[str, Query(max_length=MAX_QUERY, pattern=PLAIN_TEXT)] = "",
    sort: Annotated[str, Query(pattern=SORT_PATTERN)] = "",
) -> Response:
    """Every blueprint the user may see, searched, filtered and sorted (name, stars, uses,
    recent) on the server; the URL carries the state."""
    return _catalog(request, viewer(request), q, tag, sort)


@router.get("/recommend", response_class=HTMLResponse)
def recommend_page(
    request: Request,
    describe: Annotated[str, Query(max_length=MAX_DESCRIBE, pattern=PLAIN_TEXT)] = "",
) -> Response:
    """The catalog with the 3 blueprints AI recommend ranks first for ``describe``, each with
    its reason (``POST /api/v1/ai/recommend``; counted against the ``ai`` rate limit)."""
    from pydantic import ValidationError as InputError

    from codeforge.api.routes import ai as api_ai

    who = viewer(request)
    if not api_ai.ai_available():
        return _catalog(request, who, status=503, ai_error="AI is off on this server")
    try:
        body = api_ai.RecommendRequest(description=describe, top=TOP_RECOMMENDED)
    except InputError:
        return _catalog(request, who, status=422, describe=describe, ai_error=DESCRIBE_HINT)
    found = api_ai.recommend(ctx_of(request), who.principal, body)
    return _catalog(request, who, describe=describe, recommended=found)


def _catalog(
    request: Request,
    who: Viewer,
    q: str = "",
    tag: str = "",
    sort: str = "",
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    from urllib.parse import urlencode

    from codeforge.api.routes.ai import ai_available

    ctx = ctx_of(request)
    entries = catalog.list_entries(ctx, who.principal)
    uses = catalog.usage_counts(ctx)
    words = q.lower().split()
    shown = [e for e in entries if _matches(e, words, tag or None)]
    shown = catalog.sort_entries(ctx, shown, sort or "name", uses)
    cards = _cards(ctx, shown, uses, listings.starred(ctx, who.principal))
    tags = sorted({t for e in entries for t in e.tags})
    state = {k: v for k, v in (("q", q), ("tag", tag), ("sort", sort)) if v}
    values: dict[str, Any] = {"describe": "", "recommended": None, "ai_error": None, **extra}
    return page(
        "catalog.html",
        status,
        user=who.principal,
        csrf=who.csrf,
        cards=cards,
        q=q,
        tag=tag,
        tags=tags,
        sort=sort,
        sorts=SORTS,
        here="/?" + urlencode(state),
        ai_on=ai_available(),
        **values,
    )
