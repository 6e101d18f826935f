"""What the engine is given rather than makes: its collaborators, each a small protocol.

An adapter's composition root builds one :class:`Collaborators` (settings, the
blueprint resolver and dialects, the environment pool, version control, a
reporter and a recorder) and passes it to the engine; nothing extends the
engine by subclassing it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from codeforge.core.lifecycle import SILENT, Lifecycle
from codeforge.core.outputs import Recorder as Recorder
from codeforge.core.pipelines import CIProvider, builtin_ci_providers
from codeforge.core.postprocess import BUILTIN_FORMATTERS, Formatter, PostProcessor
from codeforge.core.source import BlueprintResolver
from codeforge.core.vcs import Vcs
from codeforge.settings import Settings
from codeforge.templates.bytecode import SharedBytes
from codeforge.templates.environment import CodeForgeEnvironment, CompiledCache
from codeforge.templates.schema import Blueprint

if TYPE_CHECKING:
    from codeforge.core.dialect import Dialect


class Reporter(Protocol):
    """Where the core's messages go (the CLI prints them; servers collect them)."""

    def info(self, message: str) -> None: ...
    def warn(self, message: str) -> None: ...
    def progress(self, done: int, total: int) -> None: ...


class SilentReporter:
    """Collects messages; the default when an adapter passes none."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def info(self, message: str) -> None:
        self.messages.append(message)

    def warn(self, message: str) -> None:
        self.messages.append(f"warning: {message}")

    def progress(self, done: int, total: int) -> None:
        pass


EnvSetup = Callable[[CodeForgeEnvironment], None]


class EnvironmentPool(Protocol):
    """Lends render environments: a fresh one per run, or a warm one from a server's pool."""

    def open(
        self, root: Path, cache_key: str, setup: EnvSetup | None = None
    ) -> CodeForgeEnvironment:
        """An environment rendering from ``root``, its compiled code kept under ``cache_key``.

        ``setup`` (a dialect's Jinja options, filters, extensions) runs once on a new one.
        """
        ...

    def close(self, env: CodeForgeEnvironment) -> None:
        """The run is over: flush and close its compiled-code cache (a pool may keep ``env``)."""
        ...


class FreshEnvironments:
    """A new environment for every run, its compiled code cached under ``settings.cache_dir``.

    ``shared_code``, when given, is asked for the fleet's shared compiled-code layer
    on every run (the composition root passes Redis when it is configured).
    """

    def __init__(
        self, settings: Settings, shared_code: Callable[[], SharedBytes | None] | None = None
    ) -> None:
        self.settings = settings
        self.shared_code = shared_code

    def open(
        self, root: Path, cache_key: str, setup: EnvSetup | None = None
    ) -> CodeForgeEnvironment:
        """A new environment (see :class:`EnvironmentPool`)."""
        shared = self.shared_code() if self.shared_code is not None else None
        cache = CompiledCache.for_blueprint(self.settings.cache_dir, cache_key, shared=shared)
        env = CodeForgeEnvironment(root, self.settings.limits, cache)
        if setup is not None:
            setup(env)
        return env

    def close(self, env: CodeForgeEnvironment) -> None:
        """Close the environment's compiled-code cache."""
        if env.code_cache is not None:
            env.code_cache.close()


def save_compiled(env: CodeForgeEnvironment) -> None:
    """Write what the environment compiled so far (a later stage may fail)."""
    if env.code_cache is not None:
        env.code_cache.save()


class Extensions:
    """What plugins add to every operation; the composition root fills it from the plugins.

    A plain class rather than a dataclass: every run imports this module, and a
    dataclass costs the compilation of its generated methods at import.
    """

    def __init__(
        self,
        post_processors: Sequence[PostProcessor] = (),
        formatters: Mapping[str, Formatter] | None = None,
        lifecycle: Lifecycle = SILENT,
        jinja_filters: Mapping[str, Callable[..., Any]] | None = None,
        jinja_tests: Mapping[str, Callable[..., Any]] | None = None,
        jinja_globals: Mapping[str, object] | None = None,
        ci_providers: Mapping[str, CIProvider] | None = None,
    ) -> None:
        self.post_processors = post_processors  # change every rendered plan
        # Those blueprints can name (default: the built-in ones).
        self.formatters = BUILTIN_FORMATTERS if formatters is None else formatters
        self.lifecycle = lifecycle  # told before rendering and after generate and update
        # Offered to trusted blueprints only: an untrusted one renders with CodeForge's own.
        self.jinja_filters: Mapping[str, Callable[..., Any]] = (
            {} if jinja_filters is None else jinja_filters
        )
        self.jinja_tests: Mapping[str, Callable[..., Any]] = (
            {} if jinja_tests is None else jinja_tests
        )
        self.jinja_globals: Mapping[str, object] = {} if jinja_globals is None else jinja_globals
        # CI providers by name, for blueprints' `pipeline` (built in: github, gitlab, jenkins).
        self.ci_providers = builtin_ci_providers() if ci_providers is None else ci_providers

    def offer_jinja(self, env: CodeForgeEnvironment) -> None:
        """Add the plugins' Jinja filters, tests and globals to a trusted blueprint's sandbox."""
        env.filters.update(self.jinja_filters)
        env.tests.update(self.jinja_tests)
        env.globals.update(self.jinja_globals)


NO_EXTENSIONS = Extensions()


class Collaborators(NamedTuple):
    """Everything the engine's operations use besides their arguments."""

    settings: Settings
    resolver: BlueprintResolver
    dialects: Sequence[Dialect]
    environments: EnvironmentPool
    vcs: Vcs
    reporter: Reporter
    recorder: Recorder | None = None
    # How a resolved folder becomes a Blueprint when not through the dialects and the
    # definitions cache directly (a server's memo of parsed definitions).
    parse: Callable[[Path], Blueprint] | None = None
    extensions: Extensions = NO_EXTENSIONS
