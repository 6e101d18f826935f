"""The plugin manager: default plugins, ``codeforge.plugins`` entry points, and typed calls.

:func:`build_plugins` makes a new manager each time it is called; nothing is
loaded at import. It registers CodeForge's own features first (the modules in
:data:`DEFAULT_PLUGINS`, always), then every installed entry point in the
``codeforge.plugins`` group, or only those ``CODEFORGE_PLUGINS=a,b`` names (by
entry-point or distribution name; set but empty loads none).

Plugins are code the user installed, so they run without ``--trust``. A plugin
that fails to import, declares a hook that does not exist, or raises from a
hook is a :class:`PluginError` naming the plugin and its distribution.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

from codeforge import __version__
from codeforge.errors import CodeForgeError, PluginError
from codeforge.plugins import IMPL_ATTRIBUTE, PROJECT
from codeforge.plugins.discovery import (
    ENV_VAR,
    GROUP,
    group_declared,
    only_default_plugins,
    selected_names,
)
from codeforge.plugins.discovery import normalise as _normalise

if TYPE_CHECKING:
    from importlib import metadata

    import click
    import pluggy
    from fastapi import APIRouter

    from codeforge.core.artifacts import ArtifactStoreFactory
    from codeforge.core.collaborators import Extensions
    from codeforge.core.credentials import CredentialStoreFactory, Forge
    from codeforge.core.dialect import Dialect
    from codeforge.core.lifecycle import GenerateEvent, PublishEvent, RenderEvent, UpdateEvent
    from codeforge.core.pipelines import CIProvider
    from codeforge.core.postprocess import Formatter, PostProcessor
    from codeforge.core.sdlc_run import WorkflowAction
    from codeforge.jobs.kinds import Kind
    from codeforge.plugins import hookspecs

# CodeForge's own features, registered through the same hooks as any plugin
# (module names: imported when a manager is built, never at import).
DEFAULT_PLUGINS: tuple[str, ...] = (
    "codeforge.plugins.builtin",
    "codeforge.sources.plugin",
    "codeforge.jobs.plugin",
    "codeforge.integrations.plugin",
    "codeforge.integrations.s3",
)
BUILTIN_DISTRIBUTION = "codeforge"

T = TypeVar("T")


class PluginInfo(NamedTuple):
    """One registered plugin, as ``codeforge plugins list`` shows it."""

    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...]
    builtin: bool

    @property
    def label(self) -> str:
        """How error messages name the plugin."""
        return f"plugin {self.name!r} (distribution {self.distribution} {self.version})"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _entry_points(selected: set[str] | None) -> list[metadata.EntryPoint]:
    if selected is None and not group_declared():
        return []
    from importlib import (
        metadata,  # only when a plugin may be installed (see discovery.group_declared)
    )

    found = sorted(metadata.entry_points(group=GROUP), key=lambda ep: ep.name)
    if selected is None:
        return found
    chosen = [
        ep
        for ep in found
        if _normalise(ep.name) in selected
        or (ep.dist is not None and _normalise(ep.dist.name) in selected)
    ]
    known = {_normalise(ep.name) for ep in found}
    known |= {_normalise(ep.dist.name) for ep in found if ep.dist is not None}
    missing = sorted(selected - known)
    if missing:
        raise PluginError(
            f"{ENV_VAR} names {', '.join(missing)}, which no installed plugin provides",
            hint=f"installed: {', '.join(sorted(ep.name for ep in found)) or 'none'}",
        )
    return chosen


class HookImpl(NamedTuple):
    """One plugin's implementation of one hook."""

    plugin: str
    function: Callable[..., Any]
    argnames: tuple[str, ...]


class Registry(Protocol):
    """Who implements which hook, in the order the hook's implementations are called."""

    def impls(self, hook_name: str) -> Sequence[HookImpl]:
        """The implementations of ``hook_name``, first called first."""

    def hooks_of(self, plugin: str) -> tuple[str, ...]:
        """The hooks ``plugin`` implements, sorted."""


class PluggyRegistry:
    """A pluggy manager's registrations (installed plugins, or ones passed in)."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager

    def impls(self, hook_name: str) -> Sequence[HookImpl]:
        """pluggy's call order: the reverse of ``get_hookimpls()``."""
        caller = getattr(self.manager.hook, hook_name)
        return [
            HookImpl(i.plugin_name, i.function, tuple(i.argnames))
            for i in reversed(caller.get_hookimpls())
        ]

    def hooks_of(self, plugin: str) -> tuple[str, ...]:
        """The hook callers pluggy holds for ``plugin``."""
        callers = self.manager.get_hookcallers(self.manager.get_plugin(plugin)) or []
        return tuple(sorted(caller.name for caller in callers))


class DirectRegistry:
    """CodeForge's default plugins alone, called in pluggy's order without loading pluggy.

    When no installed distribution declares ``codeforge.plugins`` (and
    ``CODEFORGE_PLUGINS`` is unset), the manager would hold only the modules in
    :data:`DEFAULT_PLUGINS`: their :data:`~codeforge.plugins.hookimpl` functions
    are read here directly, ordered as pluggy orders them (``trylast`` first in
    the list, ``tryfirst`` last; called from the end).
    """

    def __init__(self, modules: Sequence[tuple[str, object]]) -> None:
        listed: dict[str, list[tuple[HookImpl, Mapping[str, Any]]]] = {}
        for name, module in modules:
            for attr in sorted(vars(module)):
                function = getattr(module, attr)
                opts = getattr(function, IMPL_ATTRIBUTE, None)
                if not isinstance(opts, dict) or not callable(function):
                    continue
                code = function.__code__  # arguments with defaults are not passed, as in pluggy
                count = code.co_argcount - len(function.__defaults__ or ())
                impl = HookImpl(name, function, tuple(code.co_varnames[:count]))
                _insert(listed.setdefault(opts.get("specname") or attr, []), impl, opts)
        self._impls = {hook: [i for i, _ in reversed(items)] for hook, items in listed.items()}

    def impls(self, hook_name: str) -> Sequence[HookImpl]:
        """The default plugins' implementations of ``hook_name``."""
        return self._impls.get(hook_name, [])

    def hooks_of(self, plugin: str) -> tuple[str, ...]:
        """The hooks the default plugin ``plugin`` implements."""
        return tuple(
            sorted(h for h, impls in self._impls.items() if any(i.plugin == plugin for i in impls))
        )


def _insert(
    items: list[tuple[HookImpl, Mapping[str, Any]]], impl: HookImpl, opts: Mapping[str, Any]
) -> None:
    """Place ``impl`` as pluggy's ``HookCaller`` does: trylast at the start, tryfirst at the end,
    others after the last of the others."""
    if opts.get("trylast"):
        items.insert(0, (impl, opts))
    elif opts.get("tryfirst"):
        items.append((impl, opts))
    else:
        at = len(items)
        while at and items[at - 1][1].get("tryfirst"):
            at -= 1
        items.insert(at, (impl, opts))


class Plugins:
    """The loaded plugins, with one typed method per hook the code calls."""

    def __init__(self, registry: Registry, infos: Mapping[str, PluginInfo]) -> None:
        self.registry = registry
        self._infos = dict(infos)
        self._extensions: Extensions | None = None  # built once: hooks answer the same each time

    def info(self) -> list[PluginInfo]:
        """Every registered plugin, default ones first, with the hooks it implements."""
        found = [
            info._replace(hooks=self.registry.hooks_of(name)) for name, info in self._infos.items()
        ]
        return sorted(found, key=lambda i: (not i.builtin, i.name))

    def _each(self, hook_name: str, **kwargs: Any) -> Iterator[tuple[PluginInfo, Any]]:
        """Call ``hook_name`` on each plugin in pluggy's order; yield (plugin, result)."""
        for impl in self.registry.impls(hook_name):
            info = self._infos[impl.plugin]
            args = [kwargs[name] for name in impl.argnames]
            try:
                result = impl.function(*args)
            except CodeForgeError:
                raise  # a plugin may refuse with CodeForge's own errors, which say where
            except Exception as exc:
                raise PluginError(f"{info.label} failed in {hook_name}: {_one_line(exc)}") from exc
            yield info, result

    def results(self, hook_name: str, **kwargs: Any) -> Iterator[tuple[PluginInfo, Any]]:
        """Each plugin's non-None result of ``hook_name``, with the plugin that gave it."""
        return ((info, r) for info, r in self._each(hook_name, **kwargs) if r is not None)

    def _guard(self, info: PluginInfo, what: str, function: Callable[..., T]) -> Callable[..., T]:
        """``function`` with its unexpected errors reported as the plugin's."""

        def guarded(*args: Any) -> T:
            try:
                return function(*args)
            except CodeForgeError:
                raise
            except Exception as exc:
                raise PluginError(f"{info.label} failed in {what}: {_one_line(exc)}") from exc

        return guarded

    def _named(self, hook_name: str) -> dict[str, tuple[PluginInfo, Any]]:
        merged: dict[str, tuple[PluginInfo, Any]] = {}
        for info, mapping in self.results(hook_name):
            for key, value in dict(mapping).items():
                if key in merged:
                    raise PluginError(
                        f"{info.label} and {merged[key][0].label} both give {hook_name} {key!r}"
                    )
                merged[key] = (info, value)
        return merged

    def register_commands(self, cli: click.Group, reserved: Collection[str] = ()) -> None:
        """Let each plugin add its commands to ``cli``; taking a ``reserved`` name is an error."""
        owners: dict[str, PluginInfo] = {}
        for info, _ in self._each("codeforge_register_commands", cli=cli):
            for name in set(cli.commands) - set(owners):
                if name in reserved:
                    raise PluginError(f"{info.label} adds a command {name!r}, a built-in name")
                owners[name] = info

    def api_routers(self) -> list[APIRouter]:
        """Every plugin's FastAPI routers."""
        return [
            router for _, routers in self.results("codeforge_api_routers") for router in routers
        ]

    def job_kinds(self) -> dict[str, Kind]:
        """Job kinds by name; two plugins giving one name is an error."""
        return self._by_name("codeforge_job_kinds", "job kind")

    def post_processors(self) -> list[PostProcessor]:
        """Every plugin's post-processors, each reporting its failures as its plugin's."""
        return [
            self._guard(info, "a post-processor", process)
            for info, found in self.results("codeforge_post_processors")
            for process in found
        ]

    def formatters(self) -> dict[str, Formatter]:
        """Formatters by name (built-in ones come from the default plugin)."""
        return {
            name: self._guard(info, f"formatter {name!r}", formatter)
            for name, (info, formatter) in self._named("codeforge_formatters").items()
        }

    def dialects(self) -> list[Dialect]:
        """Blueprint dialects: the built-in ones first (native wins a folder), then the plugins'."""
        found = list(self.results("codeforge_dialects"))
        ordered = [r for r in found if r[0].builtin] + [r for r in found if not r[0].builtin]
        return [dialect for _, dialects in ordered for dialect in dialects]

    def extensions(self) -> Extensions:
        """The core's extensions collaborator: post-processors, formatters and the lifecycle."""
        # Imported here: the CLI builds a manager for `--help`, which must not load Jinja.
        from codeforge.core.collaborators import Extensions

        if self._extensions is None:
            self._extensions = Extensions(
                tuple(self.post_processors()),
                self.formatters(),
                self.lifecycle(),
                self.jinja_filters(),
                self.jinja_tests(),
                self.jinja_globals(),
                self.ci_providers(),
            )
        return self._extensions

    def jinja_filters(self) -> dict[str, hookspecs.JinjaCallable]:
        """Jinja filters for trusted blueprints."""
        return {k: v for k, (_, v) in self._named("codeforge_jinja_filters").items()}

    def jinja_tests(self) -> dict[str, hookspecs.JinjaCallable]:
        """Jinja tests for trusted blueprints."""
        return {k: v for k, (_, v) in self._named("codeforge_jinja_tests").items()}

    def jinja_globals(self) -> dict[str, object]:
        """Jinja globals for trusted blueprints."""
        return {k: v for k, (_, v) in self._named("codeforge_jinja_globals").items()}

    def credential_stores(self) -> dict[str, CredentialStoreFactory]:
        """Credential stores by name (the built-in ``local`` one from the default plugin)."""
        return self._by_name("codeforge_credential_stores", "credential store")

    def ci_providers(self) -> dict[str, CIProvider]:
        """CI providers by name (built-in: ``github``, ``gitlab``, ``jenkins``)."""
        return self._by_name("codeforge_ci_providers", "CI provider")

    def forges(self) -> dict[str, Forge]:
        """Forges by name (built-in: ``github``, ``gitlab``)."""
        return self._by_name("codeforge_forges", "forge")

    def workflow_actions(self) -> dict[str, WorkflowAction]:
        """Workflow actions by name (built-in: ``package.build``, ``package.upload``)."""
        return self._by_name("codeforge_workflow_actions", "workflow action")

    def _by_name(self, hook_name: str, what: str) -> dict[str, Any]:
        """Objects with a ``name`` from every plugin; two plugins giving one name is an error."""
        found: dict[str, Any] = {}
        owners: dict[str, PluginInfo] = {}
        for info, items in self.results(hook_name):
            for item in items:
                name = str(item.name)
                if name in found:
                    raise PluginError(
                        f"{info.label} and {owners[name].label} both give {what} {name!r}"
                    )
                found[name], owners[name] = item, info
        return found

    def artifact_stores(self) -> dict[str, ArtifactStoreFactory]:
        """Artifact store factories by URL scheme (``file`` and ``s3`` are built in)."""
        return {k: v for k, (_, v) in self._named("codeforge_artifact_stores").items()}

    def lifecycle(self) -> PluginLifecycle:
        """The core's lifecycle collaborator, forwarding each event to the plugins."""
        return PluginLifecycle(self)


class PluginLifecycle:
    """A ``codeforge.core.lifecycle.Lifecycle`` that calls the lifecycle hooks."""

    def __init__(self, plugins: Plugins) -> None:
        self._plugins = plugins

    def _emit(self, hook_name: str, event: object) -> None:
        for _ in self._plugins.results(hook_name, event=event):
            pass

    def before_render(self, event: RenderEvent) -> None:
        """Call ``codeforge_before_render``."""
        self._emit("codeforge_before_render", event)

    def after_generate(self, event: GenerateEvent) -> None:
        """Call ``codeforge_after_generate``."""
        self._emit("codeforge_after_generate", event)

    def after_update(self, event: UpdateEvent) -> None:
        """Call ``codeforge_after_update``."""
        self._emit("codeforge_after_update", event)

    def after_publish(self, event: PublishEvent) -> None:
        """Call ``codeforge_after_publish``."""
        self._emit("codeforge_after_publish", event)


def _register(
    manager: pluggy.PluginManager, plugin: object, info: PluginInfo, infos: dict[str, PluginInfo]
) -> None:
    import pluggy

    try:
        manager.register(plugin, name=info.name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise PluginError(f"{info.label} cannot be registered: {_one_line(exc)}") from exc
    infos[info.name] = info


def _load(ep: metadata.EntryPoint) -> tuple[object, PluginInfo]:
    dist = ep.dist
    info = PluginInfo(
        name=ep.name,
        distribution=dist.name if dist is not None else "(unknown distribution)",
        version=(dist.version or "") if dist is not None else "",
        hooks=(),
        builtin=False,
    )
    try:
        return ep.load(), info
    except Exception as exc:
        raise PluginError(f"{info.label} failed to load: {_one_line(exc)}") from exc


def _default_modules() -> list[tuple[PluginInfo, object]]:
    return [
        (
            PluginInfo(name, BUILTIN_DISTRIBUTION, __version__, (), builtin=True),
            importlib.import_module(name),
        )
        for name in DEFAULT_PLUGINS
    ]


def _manager() -> pluggy.PluginManager:
    """A pluggy manager that also reads :data:`~codeforge.plugins.hookimpl`'s marks."""
    import pluggy

    from codeforge.plugins import hookspecs

    class Manager(pluggy.PluginManager):
        def parse_hookimpl_opts(self, plugin: Any, name: str) -> pluggy.HookimplOpts | None:
            found = super().parse_hookimpl_opts(plugin, name)
            if found is not None:
                return found
            opts = getattr(getattr(plugin, name, None), IMPL_ATTRIBUTE, None)
            return opts if isinstance(opts, dict) else None  # type: ignore[return-value]

    manager = Manager(PROJECT)
    manager.add_hookspecs(hookspecs)
    return manager


def build_plugins(
    environ: Mapping[str, str] | None = None, *, extra: Sequence[tuple[str, object]] = ()
) -> Plugins:
    """The plugins: default plugins, then the selected entry points, then ``extra``.

    ``extra`` (name, plugin object) pairs are for tests and embedding programs.
    With CodeForge's default plugins alone, no pluggy manager is built (see
    :class:`DirectRegistry`); otherwise a new pluggy manager each call.
    """
    environ = os.environ if environ is None else environ
    defaults = _default_modules()
    if not extra and only_default_plugins(environ):
        known = {info.name: info for info, _ in defaults}
        return Plugins(DirectRegistry([(i.name, m) for i, m in defaults]), known)
    import pluggy

    manager = _manager()
    infos: dict[str, PluginInfo] = {}
    for info, module in defaults:
        _register(manager, module, info, infos)
    for ep in _entry_points(selected_names(environ)):
        plugin, info = _load(ep)
        _register(manager, plugin, info, infos)
    for name, plugin in extra:
        _register(manager, plugin, PluginInfo(name, "(in process)", "", (), False), infos)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        owner = manager.get_name(exc.plugin)
        label = infos[owner].label if owner in infos else "a plugin"
        raise PluginError(f"{label} implements an unknown hook: {_one_line(exc)}") from exc
    return Plugins(PluggyRegistry(manager), infos)
