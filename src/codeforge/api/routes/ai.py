"""``/ai``: recommend a blueprint, describe a project, review code.

Any signed-in user may call these. Recommend needs no model (embeddings, or a
lexical ranking without the extra). Describe needs one: without it, 503 with how
to enable it. Review always runs static analysis and adds the model's findings
when a model is available. Nothing here reads the server's files: review gets
the contents in the request; every prompt is redacted by the provider.

A configured endpoint (``CODEFORGE_AI_BASE_URL``, e.g. ``codeforge ai serve``)
gets a client per request. The local model is started by the server only with
``CODEFORGE_AI_API_LOCAL=true`` (``ai.api_local``): then once per process, shared,
calls to it serialised.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from codeforge.ai.errors import AIUnavailableError
from codeforge.api.auth import Ctx, CurrentUser
from codeforge.api.config import API_PREFIX
from codeforge.api.schemas import NAME_PATTERN
from codeforge.app import catalog
from codeforge.app.authentication import Principal
from codeforge.app.blueprints import server_engine
from codeforge.app.context import AppContext
from codeforge.errors import CodeForgeError

if TYPE_CHECKING:
    from codeforge.ai.catalog import CatalogEntry
    from codeforge.ai.provider import Provider

router = APIRouter(prefix=f"{API_PREFIX}/ai", tags=["ai"])

MAX_DESCRIPTION = 2000
MAX_REVIEW_FILES = 20
MAX_REVIEW_FILE_CHARS = 64 * 1024
MAX_REVIEW_TOTAL_CHARS = 256 * 1024
MAX_PATH = 300
MODEL_REVIEW_TOKENS = 256  # per file: bounds the time a request holds the model


# -- request and response bodies --------------------------------------------------------


class RecommendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, Field(min_length=1, max_length=MAX_DESCRIPTION)]
    top: Annotated[int, Field(ge=1, le=20)] = 5

    @field_validator("description")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class Recommendation(BaseModel):
    name: str
    score: float
    reason: str


class DescribeRequest(RecommendRequest):
    top: Annotated[int, Field(ge=1, le=20)] = 3
    blueprint: Annotated[str | None, Field(pattern=NAME_PATTERN, max_length=100)] = None


class DescribeResponse(BaseModel):
    blueprint: str
    version: str
    answers: dict[str, Any]
    dropped: dict[str, str] = Field(description="Model answers the blueprint refused, and why.")
    candidates: list[Recommendation]


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: dict[str, str] = Field(
        description=f"Relative path → content; at most {MAX_REVIEW_FILES} files, "
        f"{MAX_REVIEW_FILE_CHARS} characters each, {MAX_REVIEW_TOTAL_CHARS} in all.",
        min_length=1,
        max_length=MAX_REVIEW_FILES,
    )

    @field_validator("files")
    @classmethod
    def _bounded(cls, files: dict[str, str]) -> dict[str, str]:
        from codeforge.ai.review import safe_relative

        total = 0
        for path, content in files.items():
            if len(path) > MAX_PATH or safe_relative(path) is None:
                raise ValueError(f"{path[:MAX_PATH]!r} is not a relative path inside the project")
            if len(content) > MAX_REVIEW_FILE_CHARS:
                raise ValueError(f"{path} is longer than {MAX_REVIEW_FILE_CHARS} characters")
            total += len(content)
        if total > MAX_REVIEW_TOTAL_CHARS:
            raise ValueError(f"the files are longer than {MAX_REVIEW_TOTAL_CHARS} characters")
        return files


class FindingPublic(BaseModel):
    file: str
    line: int
    severity: str
    message: str
    suggestion: str
    source: str
    rule: str
    cwe: str = Field(
        "", description="The CWE id (static rules that map to one, and every model finding)."
    )
    quote: str = Field(
        "", description="A model finding: the code it is about, checked against the file."
    )
    flow: str = Field(
        "", description="The data flow from source to sink (model and taint findings)."
    )
    confirmed_by: str = Field(
        "", description="A model finding: the static rule that agrees; empty: at most medium."
    )


class ReviewResponse(BaseModel):
    findings: list[FindingPublic]
    model: bool = Field(description="Whether a model reviewed too (static analysis always runs).")
    skipped: list[str] = Field(description="Paths not reviewed: not Python, or secret files.")


# -- the shared model ------------------------------------------------------------------


class _SharedLocal:
    """One local model server per process, started on first use, stopped at exit."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.provider: Provider | None = None
        self.model = ""

    def get(self, model: str) -> Provider:
        from codeforge.ai.provider import open_provider
        from codeforge.ai.settings import load_ai_settings

        if self.provider is None or self.model != model:
            self.close()
            self.provider = open_provider(load_ai_settings(), local_model=model)
            self.model = model
        return self.provider

    def close(self) -> None:
        if self.provider is not None:
            self.provider.close()
            self.provider = None


_LOCAL = _SharedLocal()
atexit.register(_LOCAL.close)


@contextmanager
def _provider() -> Iterator[Provider]:
    """The configured endpoint (a client per request) or the shared local server."""
    from codeforge.ai.provider import open_provider
    from codeforge.ai.settings import load_ai_settings

    settings = load_ai_settings()
    if settings.base_url:
        with open_provider(settings) as provider:
            yield provider
        return
    if not settings.api_local:
        raise AIUnavailableError(
            "AI is off for the API: no model endpoint is configured",
            hint="set CODEFORGE_AI_BASE_URL (for example to `codeforge ai serve`), "
            "or CODEFORGE_AI_API_LOCAL=true to let the server start the local model",
        )
    with _LOCAL.lock:
        yield _LOCAL.get(settings.local_model)


def ai_available() -> bool:
    """Whether a model answers here: an endpoint is configured, or the local model may start."""
    from codeforge.ai.local import xllamacpp_available
    from codeforge.ai.settings import load_ai_settings

    settings = load_ai_settings()
    return bool(settings.base_url) or (settings.api_local and xllamacpp_available())


# -- the catalog -----------------------------------------------------------------------


def _catalog(ctx: AppContext, user: Principal) -> list[CatalogEntry]:
    """The API's blueprints (built-ins and registered) ``user`` may see, as AI catalog entries."""
    from codeforge.ai.bridge import entry_from_blueprint

    entries = []
    for entry in catalog.list_entries(ctx, user):
        try:
            bp, _ = catalog.load(ctx, entry.name, caller=user)
        except CodeForgeError:
            continue  # a registered source that cannot be fetched right now
        entries.append(entry_from_blueprint(bp))
    return entries


def _recommender() -> Any:
    from codeforge.ai.recommend import Recommender
    from codeforge.ai.settings import cache_dir

    return Recommender(cache_dir())


# -- endpoints -------------------------------------------------------------------------


@router.post("/recommend", response_model=list[Recommendation])
def recommend(ctx: Ctx, user: CurrentUser, body: RecommendRequest) -> list[Recommendation]:
    """The blueprints that fit the description best, best first, with a score and a reason
    (only blueprints you may see are candidates)."""
    ranked = _recommender().rank(body.description, _catalog(ctx, user), top=body.top)
    return [Recommendation(name=r.name, score=r.score, reason=r.reason) for r in ranked]


@router.post("/describe", response_model=DescribeResponse)
def describe(ctx: Ctx, user: CurrentUser, body: DescribeRequest) -> DescribeResponse:
    """A blueprint for the description (or the one given) and answers for its variables.

    The answers passed the blueprint's own validation: use them as ``data`` when
    generating. A value the blueprint refused is left out (its default applies)
    and listed in ``dropped``. Secret variables are never asked of a model.
    """
    from codeforge.ai.bridge import describe_project

    entries = _catalog(ctx, user)
    if body.blueprint is not None:
        catalog.load(ctx, body.blueprint, caller=user)  # 404 before any model call
    engine = server_engine(ctx)

    def resolve(name: str) -> Any:
        return catalog.load(ctx, name, caller=user)[0]

    with _provider() as provider:
        found = describe_project(
            engine,
            body.description,
            provider,
            _recommender(),
            blueprint=body.blueprint,
            catalog=entries,
            resolve=resolve,
        )
    return DescribeResponse(
        blueprint=found.blueprint.name,
        version=found.blueprint.version,
        answers=found.answers,
        dropped=found.dropped,
        candidates=[
            Recommendation(name=c.name, score=c.score, reason=c.reason)
            for c in found.result.candidates[: body.top]
        ],
    )


@router.post("/review", response_model=ReviewResponse)
def review(_user: CurrentUser, body: ReviewRequest) -> ReviewResponse:
    """Findings for the given files: ruff and bandit always, the model when one is available."""
    from codeforge.ai.review import review_files

    if not ai_available():
        findings, skipped = review_files(body.files, None)
        used_model = False
    else:
        with _provider() as provider:
            findings, skipped = review_files(body.files, provider, max_tokens=MODEL_REVIEW_TOKENS)
        used_model = True
    return ReviewResponse(
        findings=[FindingPublic(**f.model_dump()) for f in findings],
        model=used_model,
        skipped=skipped,
    )
