"""The plugin manager: default plugins, narrowing, typed hook calls and error attribution."""

from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest

from codeforge.core.lifecycle import GenerateEvent, RenderEvent
from codeforge.core.plan import PlannedFile, RenderPlan
from codeforge.core.postprocess import apply_formatters
from codeforge.errors import PluginError
from codeforge.plugins import hookimpl
from codeforge.plugins.manager import DEFAULT_PLUGINS, build_plugins


def plugin(**hooks: Callable[..., Any]) -> types.SimpleNamespace:
    """An in-process plugin object whose attributes are hook implementations."""
    return types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


def test_default_plugins_are_registered_and_listed_with_their_hooks() -> None:
    infos = {i.name: i for i in build_plugins({}).info()}
    assert set(DEFAULT_PLUGINS) <= set(infos)
    assert infos["codeforge.jobs.plugin"].hooks == ("codeforge_job_kinds",)
    assert all(i.builtin and i.distribution == "codeforge" for i in infos.values())


def test_default_plugins_give_the_built_in_kinds_and_formatters() -> None:
    plugins = build_plugins({})
    assert set(plugins.job_kinds()) == {
        "generate",
        "register",
        "publish",
        "workflow",
        "update",
        "review",
        "fleet-update",
    }
    assert set(plugins.formatters()) == {"ruff-format", "ruff-fix"}


def test_post_processors_and_lifecycle_reach_the_plugin() -> None:
    seen: list[str] = []

    def stamp(plan: RenderPlan, info: RenderEvent) -> None:
        plan.add(PlannedFile("STAMP", info.project_name.encode()))

    extra = plugin(
        codeforge_post_processors=lambda: [stamp],
        codeforge_after_generate=lambda event: seen.append(event.project_name),
    )
    plugins = build_plugins({}, extra=[("stamper", extra)])
    plan = RenderPlan(files=[])
    info = RenderEvent("svc", "bp", "1.0", {}, None)
    for process in plugins.post_processors():
        process(plan, info)
    assert plan.by_path()["STAMP"].content == b"svc"
    event = GenerateEvent("svc", "bp", "1.0", {}, Path("/x"), ["STAMP"], dry_run=False)
    plugins.lifecycle().after_generate(event)
    assert seen == ["svc"]


def test_a_raising_hook_is_a_plugin_error_naming_the_plugin() -> None:
    def boom(plan: RenderPlan, info: RenderEvent) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    plugins = build_plugins(
        {}, extra=[("burner", plugin(codeforge_post_processors=lambda: [boom]))]
    )
    (process,) = plugins.post_processors()
    with pytest.raises(PluginError, match=r"plugin 'burner' .* RuntimeError: disk on fire$"):
        process(RenderPlan(files=[]), RenderEvent("s", "b", "1", {}, None))

    def bad_kinds() -> list[Any]:
        raise KeyError("nope")

    plugins = build_plugins({}, extra=[("kinds", plugin(codeforge_job_kinds=bad_kinds))])
    with pytest.raises(PluginError, match=r"plugin 'kinds' .* failed in codeforge_job_kinds"):
        plugins.job_kinds()


def test_an_unknown_hook_is_refused_at_load() -> None:
    with pytest.raises(PluginError, match=r"plugin 'typo' .*unknown hook"):
        build_plugins({}, extra=[("typo", plugin(codeforge_job_kind=lambda: []))])


def test_two_plugins_giving_one_job_kind_name_is_an_error() -> None:
    clash = types.SimpleNamespace(name="generate", role="member")
    with pytest.raises(PluginError, match="both give job kind 'generate'"):
        build_plugins({}, extra=[("dup", plugin(codeforge_job_kinds=lambda: [clash]))]).job_kinds()


def test_a_plugin_command_may_not_take_a_built_in_name() -> None:
    def register(cli: click.Group) -> None:
        cli.add_command(click.Command("init"))

    plugins = build_plugins({}, extra=[("taker", plugin(codeforge_register_commands=register))])
    with pytest.raises(PluginError, match="adds a command 'init', a built-in name"):
        plugins.register_commands(click.Group(), reserved={"init"})


@pytest.mark.parametrize("value", ["nosuch", "nosuch, other"])
def test_narrowing_to_a_plugin_that_is_not_installed_is_an_error(value: str) -> None:
    with pytest.raises(PluginError, match="CODEFORGE_PLUGINS names nosuch"):
        build_plugins({"CODEFORGE_PLUGINS": value})


def test_narrowing_to_nothing_keeps_the_default_plugins() -> None:
    infos = build_plugins({"CODEFORGE_PLUGINS": ""}).info()
    assert {i.name for i in infos} == set(DEFAULT_PLUGINS)


def test_plugin_formatters_join_the_built_in_ones_and_may_not_replace_them() -> None:
    def upper(plan: RenderPlan, warn: Callable[[str], None]) -> None:
        for f in plan.files:
            f.content = f.content.upper()

    plugins = build_plugins(
        {}, extra=[("up", plugin(codeforge_formatters=lambda: {"upper": upper}))]
    )
    formatters = plugins.extensions().formatters
    assert set(formatters) == {"ruff-format", "ruff-fix", "upper"}
    plan = RenderPlan(files=[PlannedFile("a.txt", b"shout")])
    apply_formatters(plan, ["upper"], lambda _m: None, formatters)
    assert plan.files[0].content == b"SHOUT"

    taker = plugin(codeforge_formatters=lambda: {"ruff-format": upper})
    with pytest.raises(PluginError, match="both give codeforge_formatters 'ruff-format'"):
        build_plugins({}, extra=[("taker", taker)]).formatters()


def test_plugin_dialects_come_after_the_built_in_ones() -> None:
    from codeforge.core.native import NativeDialect

    extra = types.SimpleNamespace(name="plop")
    plugins = build_plugins({}, extra=[("plop", plugin(codeforge_dialects=lambda: [extra]))])
    dialects = plugins.dialects()
    assert isinstance(dialects[0], NativeDialect)
    assert dialects[-1] is extra
    assert [d.name for d in dialects].count("plop") == 1


@pytest.mark.parametrize(
    ("hook", "method", "builtin"),
    [
        ("codeforge_forges", "forges", {"github", "gitlab"}),
        ("codeforge_credential_stores", "credential_stores", {"local"}),
    ],
)
def test_named_integrations_come_from_default_and_installed_plugins(
    hook: str, method: str, builtin: set[str]
) -> None:
    gitea = types.SimpleNamespace(name="gitea")
    plugins = build_plugins({}, extra=[("gitea", plugin(**{hook: lambda: [gitea]}))])
    found = getattr(plugins, method)()
    assert set(found) == {*builtin, "gitea"}
    assert found["gitea"] is gitea
    taken = types.SimpleNamespace(name=sorted(builtin)[0])
    clash = build_plugins({}, extra=[("taker", plugin(**{hook: lambda: [taken]}))])
    with pytest.raises(PluginError, match=f"both give .* {sorted(builtin)[0]!r}"):
        getattr(clash, method)()


@pytest.mark.parametrize("trust", [True, False])
def test_plugin_jinja_filters_reach_trusted_blueprints_only(
    blueprint: Callable[..., Path], out: Path, codeforge_dirs: dict[str, Path], trust: bool
) -> None:
    from codeforge.app.context import local_engine
    from codeforge.errors import TemplateError
    from codeforge.settings import load_settings

    extra = plugin(
        codeforge_jinja_filters=lambda: {"shout": lambda text: f"{text.upper()}!"},
        codeforge_jinja_globals=lambda: {"company": "ACME"},
        codeforge_jinja_tests=lambda: {"loud": lambda text: text.isupper()},
    )
    plugins = build_plugins({}, extra=[("acme", extra)])
    folder = blueprint(
        {"name": "loud", "version": "1.0.0"},
        {
            "README.md": "{{ project_name | shout }}{% if company is loud %} {{ company }}{% endif %}"
        },
    )
    engine = local_engine(load_settings(), plugins=plugins)
    if not trust:
        with pytest.raises(TemplateError, match="shout"):
            engine.create_project(str(folder), "svc", output_dir=out, git=False, trust=False)
        assert not (out / "svc").exists()
        return
    engine.create_project(str(folder), "svc", output_dir=out, git=False, trust=True)
    assert (out / "svc" / "README.md").read_text() == "SVC! ACME"


def test_artifact_stores_by_scheme_from_default_and_installed_plugins() -> None:
    def memory(url: str, environ: object) -> object:
        return {"url": url}

    extra = plugin(codeforge_artifact_stores=lambda: {"memory": memory})
    stores = build_plugins({}, extra=[("mem", extra)]).artifact_stores()
    assert {"file", "s3", "memory"} <= set(stores)
    taker = plugin(codeforge_artifact_stores=lambda: {"file": memory})
    with pytest.raises(PluginError, match="both give codeforge_artifact_stores 'file'"):
        build_plugins({}, extra=[("taker", taker)]).artifact_stores()


def test_the_default_plugins_add_no_command() -> None:
    # `codeforge --help` builds no manager when only the default plugins would load
    # (codeforge.plugins.discovery): that is right only while none of them adds one.
    group = click.Group()
    build_plugins({}).register_commands(group)
    assert group.commands == {}
    for name in DEFAULT_PLUGINS:
        module = __import__(name, fromlist=["_"])
        assert not hasattr(module, "codeforge_register_commands"), name


def test_the_default_plugins_are_called_alike_with_and_without_pluggy() -> None:
    from codeforge.plugins import hookspecs
    from codeforge.plugins.manager import DirectRegistry, PluggyRegistry

    direct = build_plugins({})
    managed = build_plugins({}, extra=[("nothing", object())])  # any extra: a pluggy manager
    assert isinstance(direct.registry, DirectRegistry)
    assert isinstance(managed.registry, PluggyRegistry)
    hooks = [name for name in vars(hookspecs) if name.startswith("codeforge_")]
    assert len(hooks) > 20
    for hook in hooks:
        assert direct.registry.impls(hook) == managed.registry.impls(hook), hook
    assert direct.info() == [i for i in managed.info() if i.builtin]
    assert set(direct.workflow_actions()) == set(managed.workflow_actions())
    assert [type(d).__name__ for d in direct.dialects()] == [
        type(d).__name__ for d in managed.dialects()
    ]


def test_tryfirst_and_trylast_order_like_pluggy() -> None:
    from codeforge.plugins import hookimpl
    from codeforge.plugins.manager import DirectRegistry

    class One:
        @staticmethod
        @hookimpl(trylast=True)
        def codeforge_formatters() -> dict[str, object]:
            return {}

    class Two:
        @staticmethod
        @hookimpl
        def codeforge_formatters() -> dict[str, object]:
            return {}

    class Three:
        @staticmethod
        @hookimpl(tryfirst=True)
        def codeforge_formatters() -> dict[str, object]:
            return {}

    class Four:
        @staticmethod
        @hookimpl
        def codeforge_formatters() -> dict[str, object]:
            return {}

    plugins = [("one", One), ("two", Two), ("three", Three), ("four", Four)]
    direct = DirectRegistry(plugins)
    managed = build_plugins({}, extra=plugins).registry
    order = [i.plugin for i in managed.impls("codeforge_formatters") if i.plugin in dict(plugins)]
    assert order == ["three", "four", "two", "one"]
    assert [i.plugin for i in direct.impls("codeforge_formatters")] == order
