"""Who is looking at a page: the API's login session, its CSRF token, and the templates.

Pages take the same session cookie the API does and check it with the same
function (:func:`codeforge.app.authentication.session_user`); a form proves it came
from our page with the session's CSRF token in a hidden field instead of a
header. Before sign-in there is no session, so the sign-in form carries its own
token, doubled in a short-lived cookie.
"""

from __future__ import annotations

import dataclasses
import functools
import hmac
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from codeforge.api.auth import csrf_matches
from codeforge.api.config import COOKIE_NAME
from codeforge.app.authentication import Principal, session_user
from codeforge.app.context import AppContext

if TYPE_CHECKING:
    from codeforge.cache.sessions import SessionData

LOGIN_CSRF_COOKIE: Final = "codeforge_login_csrf"


class SignInNeeded(Exception):
    """No live session: the page answers with a redirect to the sign-in page."""


class Forbidden(Exception):
    """The signed-in user lacks the role a page needs: the page answers 403."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.where: str | None = None
        self.hint: str | None = None


@dataclasses.dataclass(frozen=True)
class Viewer:
    """The signed-in user of a page request."""

    principal: Principal
    session: SessionData
    cookie: str

    @property
    def csrf(self) -> str:
        return self.session.csrf


def ctx_of(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def find_viewer(request: Request) -> Viewer | None:
    """The page's user from the session cookie (checked in the database), else None."""
    cookie = request.cookies.get(COOKIE_NAME)
    store = getattr(request.app.state, "sessions", None)
    if not cookie or store is None:
        return None
    found = session_user(ctx_of(request), store, cookie)
    if found is None:
        return None
    request.scope.setdefault("state", {})["user"] = found.principal.name
    return Viewer(found.principal, found.data, cookie)


def viewer(request: Request) -> Viewer:
    """The signed-in user; SignInNeeded (a redirect to /login) without a live session."""
    found = find_viewer(request)
    if found is None:
        raise SignInNeeded()
    return found


def require_role(who: Viewer, role: str) -> None:
    """The API's role check (``codeforge.api.auth.require``), with its message."""
    if not who.principal.at_least(role):
        raise Forbidden(f"this needs the {role} role (you are {who.principal.role})")


async def posted(request: Request) -> tuple[Viewer, dict[str, str]]:
    """The signed-in viewer and the posted form's fields (its CSRF token checked)."""
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    who = await run_in_threadpool(viewer, request)
    check_form(form, who)
    return who, form


def check_form(form: Mapping[str, Any], who: Viewer) -> None:
    """A posted form must carry the session's CSRF token."""
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not csrf_matches(sent, who.session.csrf):
        raise HTTPException(403, "the form's CSRF token is missing or wrong: reload the page")


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


def login_token_matches(request: Request, sent: object) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return (
        isinstance(sent, str)
        and bool(cookie)
        and hmac.compare_digest(sent.encode(), cookie.encode())
    )


@functools.cache
def _templates() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("codeforge.web", "templates"),
        autoescape=True,  # every page, every fragment: values render as text
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    """Render the template ``name`` (autoescaped) as an HTML response that is never cached."""
    if "who" in values:  # the header's user and sign-out form
        who: Viewer = values.pop("who")
        values.setdefault("user", who.principal)
        values.setdefault("csrf", who.csrf)
    body = _templates().get_template(name).render(**values)
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
