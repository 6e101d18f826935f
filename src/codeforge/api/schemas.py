"""Request and response bodies. Input schemas forbid unknown fields (no mass assignment)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, SecretStr, Tag

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,99}$"
BlueprintName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=100)]
ProjectName = Annotated[str, Field(min_length=1, max_length=100)]
Role = Literal["admin", "maintainer", "member"]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- errors ---------------------------------------------------------------------------


class ErrorItem(BaseModel):
    where: str
    message: str
    type: str


class ErrorPublic(BaseModel):
    error: str
    message: str
    where: str | None = None
    hint: str | None = None
    variable: str | None = None
    errors: list[ErrorItem] | None = None


# -- blueprints -----------------------------------------------------------------------


class BlueprintSummary(Output):
    name: str
    version: str
    description: str
    tags: list[str]
    source: str
    versions: list[str]
    # the marketplace (docs/api.md#marketplace)
    owner: str | None = None
    visibility: Literal["public", "private"] = "public"
    featured: bool = False
    deprecated: bool = False
    replacement: str | None = Field(None, description="What to use instead, when deprecated")
    stars: int = 0


class ComponentPublic(Output):
    name: str
    description: str
    variables_schema: dict[str, Any]


class BlueprintPublic(BlueprintSummary):
    variables_schema: dict[str, Any]
    components: list[str]
    formatters: list[str]
    has_tasks: bool
    groups: list[str] = Field(
        default_factory=list, description="Groups a private one is shared with"
    )
    starred: bool = Field(False, description="You starred it")


Visibility = Literal["public", "private"]


class BlueprintRegisterGit(Input):
    git_url: Annotated[str, Field(min_length=1, max_length=2000)]
    ref: Annotated[str | None, Field(max_length=200)] = None
    visibility: Visibility | None = Field(
        None,
        description="A new name's visibility (default public); owners and admins may change it",
    )


class BlueprintRegistered(Output):
    id: int
    name: str
    version: str
    source: str
    description: str
    created_at: datetime


# -- projects -------------------------------------------------------------------------


class GenerateRequest(Input):
    template: BlueprintName
    name: ProjectName
    answers: dict[str, Any] = Field(default_factory=dict)
    version: Annotated[str | None, Field(max_length=100)] = None


class PublishOptions(Input):
    """Where and how to publish: ``codeforge publish``'s options. Your own credential is used."""

    to: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$", description="github | gitlab")]
    host: Annotated[
        str | None, Field(max_length=300, description="The forge's host (default: its public one)")
    ] = None
    owner: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    repo: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    visibility: Literal["private", "internal", "public"] = "private"
    description: Annotated[str | None, Field(max_length=1000)] = None
    topics: Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=20)] = Field(
        default_factory=list
    )
    protect_default_branch: bool = False
    credential: Annotated[
        str, Field(max_length=64, description="Which of your stored credentials (its name)")
    ] = "default"


class GenerateAndPublish(GenerateRequest):
    publish: PublishOptions | None = Field(
        None, description="Also publish the project (as a job: see the X-Publish-Job header)"
    )


class PreviewFile(BaseModel):
    path: str
    size: int
    binary: bool
    mode: int
    content: str | None = Field(None, description="UTF-8 text; None for binary files")


class PreviewPublic(BaseModel):
    template: str
    version: str
    name: str
    answers: dict[str, Any]
    files: list[PreviewFile]
    directories: list[str]


class ProjectPublic(Output):
    id: int
    name: str
    blueprint_name: str
    blueprint_version: str
    blueprint_source: str
    answers: dict[str, Any]
    owner_id: int | None
    created_at: datetime
    updated_at: datetime
    provider: str | None = None
    remote_url: str | None = None
    published_at: datetime | None = None


class ChangePublic(Output):
    path: str
    action: str
    note: str | None


class KeptPublic(Output):
    path: str
    reason: str


class ProjectDiffPublic(Output):
    """What updating a project to its blueprint's newest version would change."""

    project_id: int
    blueprint: str
    from_version: str
    to_version: str
    update_available: bool
    changes: list[ChangePublic]
    kept: list[KeptPublic]
    conflicts: list[str]
    new_questions: list[str]
    migrations: list[str]
    adopted_from: str | None
    diff: str = Field(description="The unified diff of every change (capped)")
    truncated: bool


class StageResultPublic(Output):
    stage: str
    status: str
    inputs_key: str
    started_at: str
    duration: float
    outputs: dict[str, str]
    step: str
    tail: list[str]


class WorkflowPublic(Output):
    project_id: int
    last_stage: str | None
    last_status: str | None
    updated_at: datetime | None
    stages: list[StageResultPublic]  # in workflow order: verify, build, publish, deploy


# -- activity -------------------------------------------------------------------------


class ActivityPublic(Output):
    id: int
    at: datetime
    actor: str | None
    user_id: int | None
    action: str
    project_id: int | None
    target: str
    details: dict[str, Any]


class ActivityPage(BaseModel):
    items: list[ActivityPublic]
    limit: int
    offset: int
    next_offset: int | None


# -- users and keys ---------------------------------------------------------------------


class UserCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\s\x00-\x1f]+$")]
    role: Role = "member"


class UserPublic(Output):
    id: int
    name: str
    role: str
    disabled: bool
    created_at: datetime


class RoleChange(Input):
    role: Role


class PasswordChange(Input):
    current_password: Annotated[str, Field(min_length=1, max_length=1024)]
    new_password: Annotated[str, Field(min_length=1, max_length=1024)]


class PasswordReset(Input):
    new_password: Annotated[str, Field(min_length=1, max_length=1024)]


class KeyCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    user: Annotated[str | None, Field(max_length=200)] = None
    expires_days: Annotated[int | None, Field(ge=1, le=3650)] = None


class KeyPublic(Output):
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(KeyPublic):
    key: str = Field(description="The API key. Shown once; only its hash is stored.")


class Health(BaseModel):
    status: str
    database: str | None = None


# -- jobs -------------------------------------------------------------------------------

IdempotencyKey = Annotated[str | None, Field(min_length=1, max_length=200)]


class GenerateJobCreate(Input):
    kind: Literal["generate"]
    template: Annotated[
        str,
        Field(
            min_length=1,
            max_length=2000,
            description="A blueprint name (built-in or registered) or a public https git URL",
        ),
    ]
    name: ProjectName
    answers: dict[str, Any] = Field(default_factory=dict)
    version: Annotated[str | None, Field(max_length=100)] = None
    ref: Annotated[str | None, Field(max_length=200, description="git URLs only")] = None
    publish: PublishOptions | None = Field(None, description="Also publish it, in the same job")
    idempotency_key: IdempotencyKey = None


class RegisterJobCreate(Input):
    kind: Literal["register"]
    git_url: Annotated[str, Field(min_length=1, max_length=2000)]
    ref: Annotated[str | None, Field(max_length=200)] = None
    visibility: Visibility | None = None
    idempotency_key: IdempotencyKey = None


class PublishJobCreate(Input):
    kind: Literal["publish"]
    project_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    publish: PublishOptions
    idempotency_key: IdempotencyKey = None


StageName = Literal["verify", "build", "publish", "deploy"]


class WorkflowOptions(Input):
    """Which workflow stages to run on the server (``codeforge workflow run``'s options)."""

    stages: Annotated[
        list[StageName],
        Field(max_length=4, description="Default: every stage the blueprint declares"),
    ] = Field(default_factory=list)
    force: bool = Field(False, description="Run stages whose inputs are unchanged too")
    target: Annotated[
        Literal["docker", "compose", "kubernetes"] | None,
        Field(description="The deploy target (deploy needs the maintainer role)"),
    ] = None
    env: Annotated[
        str | None, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$", description="dev, prod, ...")
    ] = None
    registry: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=300,
            description="HOST[:PORT]/NAMESPACE: docker.build pushes the image there, with your "
            "own docker credential for that host (PUT /credentials/docker), else anonymously. "
            "The host must be one the server allows (CODEFORGE_REGISTRY_HOSTS)",
        ),
    ] = None


class WorkflowJobCreate(WorkflowOptions):
    kind: Literal["workflow"]
    project_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    idempotency_key: IdempotencyKey = None


class UpdateRequest(Input):
    """How ``POST /projects/{id}/update`` updates the project."""

    pr: bool = Field(
        False,
        description="Open a pull request on the repository the project was published to "
        "(your own credential) instead of merging into its stored tree",
    )


class UpdateJobCreate(UpdateRequest):
    kind: Literal["update"]
    project_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    idempotency_key: IdempotencyKey = None


class ReviewJobCreate(Input):
    kind: Literal["review"]
    project_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    static_only: bool = Field(
        False, description="ruff, bandit and the taint pass only, even when a model is configured"
    )
    idempotency_key: IdempotencyKey = None


class FleetUpdateOptions(Input):
    """What ``POST /fleet/update`` updates, and how (``codeforge fleet update``'s options)."""

    blueprint: Annotated[
        str | None,
        Field(pattern=NAME_PATTERN, max_length=100, description="Only this blueprint's projects"),
    ] = None
    pr: bool = Field(
        False, description="Open a pull request on each project's published repository"
    )
    concurrency: Annotated[int, Field(ge=1, le=32, description="Projects updated at once")] = 2


class FleetUpdateJobCreate(FleetUpdateOptions):
    kind: Literal["fleet-update"]
    idempotency_key: IdempotencyKey = None


class PluginJobCreate(Input):
    """A job of a kind an installed plugin adds; the kind's own ``check`` reads ``payload``."""

    kind: Annotated[
        str,
        Field(pattern=NAME_PATTERN, max_length=100, description="A job kind a plugin adds"),
    ]
    payload: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: IdempotencyKey = None


_BUILTIN_JOB_KINDS = frozenset(
    {"generate", "register", "publish", "workflow", "update", "review", "fleet-update"}
)


def _job_body_tag(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if isinstance(kind, str) and kind in _BUILTIN_JOB_KINDS else "plugin"


JobCreate = Annotated[
    Annotated[GenerateJobCreate, Tag("generate")]
    | Annotated[RegisterJobCreate, Tag("register")]
    | Annotated[PublishJobCreate, Tag("publish")]
    | Annotated[WorkflowJobCreate, Tag("workflow")]
    | Annotated[UpdateJobCreate, Tag("update")]
    | Annotated[ReviewJobCreate, Tag("review")]
    | Annotated[FleetUpdateJobCreate, Tag("fleet-update")]
    | Annotated[PluginJobCreate, Tag("plugin")],
    Discriminator(_job_body_tag),
]


class JobPublic(Output):
    id: str
    kind: str
    status: str
    progress: int
    stage: str
    attempts: int
    max_attempts: int
    error: str | None
    error_kind: str | None
    owner_id: int
    queue: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None
    result: dict[str, Any] | None
    result_url: str | None = None


class QueuePublic(Output):
    backend: str = Field(description="redis URL (redacted), or in-process with its threads")
    counts: dict[str, int] = Field(description="Jobs by status")
    oldest_queued_seconds: float | None
    in_process_pending: int | None = Field(description="Ids waiting in this process's queue")
    failed: list[JobPublic] = Field(description="The newest failed jobs (at most 50)")


class RateLimitsPublic(Output):
    per_key: dict[str, str | None] = Field(description="By route group; null: no limit")
    per_address: dict[str, str | None]


# -- credentials ---------------------------------------------------------------------


class CredentialCreate(Input):
    token: Annotated[
        SecretStr,
        Field(
            min_length=1,
            max_length=4096,
            description="Write-only: never returned. For docker: USER:PASSWORD (or USER:TOKEN)",
        ),
    ]
    host: Annotated[
        str | None,
        Field(max_length=300, description="Default: the provider's (docker: HOST[:PORT])"),
    ] = None
    name: Annotated[str, Field(max_length=64)] = "default"


class CredentialPublic(Output):
    provider: str
    host: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
