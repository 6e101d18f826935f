"""The answers, render and hook steps of the cookiecutter and copier dialects (:mod:`.dialect`).

Everything else in the pipeline (resolve, sandbox, budgets, path checks, the
atomic sink, records) is the same as for a native blueprint.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeforge.core.answers import Evaluator, Prompter
from codeforge.core.plan import PlanBuilder, RenderPlan
from codeforge.core.postprocess import plain
from codeforge.settings import RenderLimits
from codeforge.templates.environment import CodeForgeEnvironment
from codeforge.templates.schema import Blueprint

if TYPE_CHECKING:
    from codeforge.templates.sections import CompatOptions

_NEVER = frozenset({".git", "__pycache__"})


def info(name: str, destination: Path | None, source: Any, trusted: bool) -> dict[str, Any]:
    """What the foreign context needs to know about this run (plain data)."""
    # In memory (API, zip) there is no destination: the name stands for it, never a
    # server folder.
    dest = destination.absolute() if destination is not None else Path(name)
    return {
        "name": name,
        "destination": str(dest),
        "output_dir": str(dest.parent),
        "source": source.source,
        "ref": source.ref,
        "commit": source.commit,
        "trusted": trusted,
    }


def resolve(
    blueprint: Blueprint,
    env: CodeForgeEnvironment,
    data: Mapping[str, Any],
    prompter: Prompter | None,
    run: Mapping[str, Any],
    saved: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The answers, by the foreign tool's rules.

    ``saved`` (a project's recorded answers, on update) counts as given, below
    ``data``; names the template does not ask (``project_name`` from NAME) are dropped.
    """
    compat = _compat(blueprint)
    known = {v.name for v in blueprint.variables if not v.secret}
    given = {k: v for k, v in (saved or {}).items() if k in known}
    given.update(data)
    return compat.resolve(blueprint, Evaluator(env), given, prompter, run)


def context(
    blueprint: Blueprint,
    env: CodeForgeEnvironment,
    answers: Mapping[str, Any],
    run: Mapping[str, Any],
) -> dict[str, Any]:
    result: dict[str, Any] = plain(
        _compat(blueprint).context(blueprint, Evaluator(env), answers, run)
    )
    return result


def build_plan(
    blueprint: Blueprint,
    env: CodeForgeEnvironment,
    limits: RenderLimits,
    ctx: Mapping[str, Any],
    progress: Callable[[int, int], None] | None,
) -> RenderPlan:
    compat = _compat(blueprint)
    exclude_output, skip = compat.exclude_output, blueprint.files.skip_if_exists
    if compat.rules is not None:
        exclude_output, skip = compat.rules(Evaluator(env), ctx)
    builder = PlanBuilder(
        env,
        limits,
        strip_suffix=compat.strip_suffix,
        suffix_only=compat.suffix_only,
        keep_crlf=compat.keep_crlf,
        copy_fnmatch=compat.copy_fnmatch,
        keep_links=compat.keep_links,
    )
    plan = builder.build(
        str(blueprint.template_root),
        ctx,
        exclude_output=exclude_output,
        skip_if_exists=skip,
        progress=progress,
    )
    _add_folders(plan, builder, blueprint.template_root, ctx, exclude_output)
    return plan


def _add_folders(
    plan: RenderPlan,
    builder: PlanBuilder,
    root: Path,
    ctx: Mapping[str, Any],
    exclude_output: Sequence[str],
) -> None:
    """Both tools create every template folder, even one left empty by its files' names."""
    import pathspec

    excluded = pathspec.GitIgnoreSpec.from_lines(exclude_output) if exclude_output else None
    present = {f.path.rsplit("/", 1)[0] for f in plan.files if "/" in f.path}
    parents: set[str] = set()
    for path in present | set(plan.directories):
        parts = path.split("/")
        parents.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    for folder, subdirs, _files in os.walk(root):
        # A link to a folder is not a folder (kept, it is an entry of the plan's files).
        subdirs[:] = sorted(
            d for d in subdirs if d not in _NEVER and not os.path.islink(os.path.join(folder, d))
        )
        rel = os.path.relpath(folder, root).replace(os.sep, "/")
        if rel == ".":
            continue
        depth = builder.verbatim_depth(rel)
        if depth is not None and depth < rel.count("/") + 1:
            continue  # inside a folder copied verbatim: copied with it
        out = builder.render_path(rel, ctx)
        if out is None or out in parents:
            continue
        if excluded is not None and excluded.match_file(out + "/"):
            continue
        plan.directories.append(out)
        parents.add(out)


def recorded(blueprint: Blueprint, answers: Mapping[str, Any]) -> dict[str, Any]:
    secret = {v.name for v in blueprint.variables if v.secret}
    return {k: v for k, v in _compat(blueprint).recorded(answers).items() if k not in secret}


def run_hooks(
    blueprint: Blueprint,
    stage: str,
    cwd: Path | None,
    env: CodeForgeEnvironment,
    ctx: Mapping[str, Any],
    trusted: bool,
    report: Callable[[str], None],
) -> None:
    """Run the template's ``stage`` ("pre" or "post") hooks; "pre" gets an empty scratch folder.

    cookiecutter runs pre_gen_project in the empty project folder; CodeForge has no
    project folder yet at that point (nothing is written before the render is
    complete), so the hook runs in an empty scratch folder and whatever it leaves
    there is discarded.
    """
    compat = _compat(blueprint)
    if compat.run_hooks is None:
        return
    if cwd is None:
        with tempfile.TemporaryDirectory(prefix="codeforge-pre-") as scratch:
            compat.run_hooks(stage, Path(scratch), ctx, trusted, Evaluator(env), report)
        return
    compat.run_hooks(stage, cwd, ctx, trusted, Evaluator(env), report)


def _compat(blueprint: Blueprint) -> CompatOptions:
    assert blueprint.compat is not None
    return blueprint.compat
