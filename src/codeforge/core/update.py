"""``codeforge update``, ``check`` and ``diff``: bring a project up to a newer blueprint version.

The steps of one update:

1. Read what the project was made from: ``.codeforge-answers.yml``, or, for a
   project made by another tool, ``.copier-answers.yml`` (``_src_path``,
   ``_commit``, answers) or ``.cruft.json`` (``template``, ``commit``,
   ``context.cookiecutter``). The first update writes CodeForge's file; the
   other tool's file is left where it is (it is then just a project file).
2. Refuse a git working tree with uncommitted changes (``force`` skips this):
   the user's own changes must be recoverable from git.
3. Load the recorded version (git sources: the recorded commit) as *base* and
   the target version (``to``, else the newest: the highest semver tag of a
   git source, or the folder as it is) as *theirs*. Answers: the recorded ones,
   ``data`` on top, and only questions new in the target version are asked
   (or defaulted without a prompter).
4. Render both in memory and merge three ways with the project
   (:mod:`codeforge.core.merge`). Paths the blueprint did not change are
   never read from the project.
5. Apply every change in one transaction (:func:`codeforge.core.sinks.apply_changes`),
   with the answers file rewritten in the same transaction. It is journalled
   (:mod:`codeforge.core.transaction`): a killed update is rolled back by the next
   command that touches the project, which is why every entry point here starts
   with :func:`~codeforge.core.transaction.recover`.
6. Migrations of the target blueprint whose version is above the recorded one
   and at most the target run in semver order, ``before`` tasks ahead of the
   merge and ``after`` tasks once it is applied, in the project folder. They run
   only for trusted sources; an untrusted blueprint with pending migrations is
   refused unless ``skip_migrations``. When migrations run, the project is
   copied aside first and restored from that copy if anything fails later.
7. An Activity row (action ``update``) records from → to.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeforge.core.answers import Evaluator, Prompter, public_answers
from codeforge.core.answersfile import ANSWERS_FILE, AnswersFile, Recorded, read_recorded
from codeforge.core.errors import (
    BlueprintError,
    CodeForgeError,
    ConflictError,
    NotFoundError,
    SecurityError,
    StoreError,
)
from codeforge.core.merge import INLINE, Change, Kept, Merger, Ours, git_text_merge, unified
from codeforge.core.paths import check_relpath
from codeforge.core.plan import PlannedFile, RenderPlan
from codeforge.core.records import GenerationRecord
from codeforge.core.transaction import Recovery, recover
from codeforge.templates.schema import Migration, Variable

if TYPE_CHECKING:
    from codeforge.core.engine import LoadedBlueprint, SDLCEngine, WorkflowState

UPDATE_AVAILABLE_EXIT = 100  # `codeforge check`: a newer version exists (0: up to date)


@dataclasses.dataclass
class UpdateResult:
    project: Path
    blueprint: str
    from_version: str
    to_version: str
    changes: list[Change]
    kept: list[Kept]
    answers: dict[str, Any]
    new_questions: list[str]
    migrations: list[str]
    dry_run: bool
    adopted_from: str | None
    record_error: StoreError | None = None
    recovered: Recovery | None = None  # an interrupted earlier write, resolved first

    @property
    def conflicts(self) -> list[str]:
        return [c.path for c in self.changes if c.action == "conflict"]

    def diff(self) -> str:
        """The unified diff of every change (what ``codeforge diff`` prints)."""
        return "".join(unified(c.path, c.before, c.content) for c in self.changes)


@dataclasses.dataclass
class CheckResult:
    project: Path
    blueprint: str
    source: str
    current: str
    latest: str
    recovered: Recovery | None = None  # an interrupted earlier write, resolved first

    @property
    def update_available(self) -> bool:
        from codeforge.templates.loader import semver_key

        return semver_key(self.latest) > semver_key(self.current)


# -- the project's side ---------------------------------------------------------------------


def dirty_paths(project: Path) -> list[str] | None:
    """Uncommitted changes under ``project`` (``git status --porcelain``); None if not in git."""
    from codeforge.integrations.git import GitMissing, run_git

    try:
        proc = run_git(["status", "--porcelain", "--untracked-files=normal"], project, check=False)
    except GitMissing:
        return None
    if proc.returncode != 0:
        if "not a git repository" in proc.stderr:
            return None
        from codeforge.integrations.git import GitError

        raise GitError(f"git status failed in {project}: {proc.stderr.strip()[-300:]}")
    return [line[3:] for line in proc.stdout.splitlines() if line.strip()]


def project_reader(project: Path) -> Any:
    """``read(rel) -> Ours | None`` for the project; refuses links that leave the project."""
    root = str(project)
    real_root = os.path.realpath(root)

    def read(rel: str) -> Ours | None:
        check_relpath(rel)
        current = root
        parts = rel.split("/")
        for depth, part in enumerate(parts):
            current = os.path.join(current, part)
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                return None
            except NotADirectoryError:
                return None
            if stat.S_ISLNK(st.st_mode):
                real = os.path.realpath(current)
                if real != real_root and not real.startswith(real_root + os.sep):
                    raise SecurityError(
                        f"{'/'.join(parts[: depth + 1])} is a link leading out of the project "
                        f"(to {os.readlink(current)}); the update would write through it",
                        where=rel,
                        hint="replace the link with a real file or folder, then update again",
                    )
                return Ours(b"", st.st_mode & 0o7777, link=True)
            if depth < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
                return None  # a file where the blueprint has a folder: the write will fail
        if stat.S_ISDIR(st.st_mode):
            raise ConflictError(f"{rel} is a folder in the project; the blueprint has a file there")
        with open(current, "rb") as handle:
            return Ours(handle.read(), st.st_mode & 0o7777)

    return read


# -- rendering ------------------------------------------------------------------------------


class _OnlyNew:
    """Ask only questions without a recorded answer (or whose recorded answer is now invalid)."""

    def __init__(self, prompter: Prompter, saved: Mapping[str, Any]) -> None:
        self.prompter = prompter
        self.saved = saved

    def ask(
        self,
        variable: Variable,
        default: Any,
        choices: Sequence[tuple[str, Any]] | None,
        error: str | None,
    ) -> Any:
        if variable.name in self.saved and error is None:
            return default
        return self.prompter.ask(variable, default, choices, error)


def _answer(
    engine: SDLCEngine,
    loaded: LoadedBlueprint,
    name: str,
    explicit: Mapping[str, Any],
    saved: Mapping[str, Any],
    prompter: Prompter | None,
    project: Path,
) -> WorkflowState:
    """Resolve the answers for ``loaded`` (the state then renders with :func:`_render`)."""
    from codeforge.core.engine import WorkflowState

    state = WorkflowState(
        template=loaded.source.source,
        name=name,
        data=dict(explicit),
        prompter=prompter,
        saved_answers=dict(saved),
        output=project,
    )
    state.loaded = loaded
    engine.manage_workflow([("answers", engine._stage_answers)], state)
    state.env = None  # its compiled-code cache was closed with the stage
    return state


def _render(engine: SDLCEngine, state: WorkflowState) -> RenderPlan:
    engine.manage_workflow([("render", engine._stage_render)], state)
    assert state.plan is not None
    return state.plan


_INCLUDE_RE = re.compile(rb"\{%-?\s*(?:include|import|extends|from)\b")
FAST_PATH_MAX_CHANGED = 200


TreeIndex = tuple[dict[str, tuple[str, bool]], frozenset[str]]


def _template_files(root: Path) -> TreeIndex | None:
    """Every file (content digest, executable) and empty folder under ``root``.

    None when a link or an include/import is seen: the fast path does not apply.
    """
    import hashlib

    files: dict[str, tuple[str, bool]] = {}
    empty: set[str] = set()
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as entries:
            listed = list(entries)
        if not listed and rel_dir:
            empty.add(rel_dir)
        for entry in listed:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_symlink():
                return None
            if entry.is_dir():
                if entry.name != ".git":
                    stack.append(rel)
                continue
            with open(entry.path, "rb") as handle:
                data = handle.read()
            if b"{%" in data and _INCLUDE_RE.search(data):
                return None
            digest = hashlib.blake2b(data, digest_size=16).hexdigest()
            files[rel] = (digest, bool(entry.stat().st_mode & 0o111))
    return files, frozenset(empty)


def _tree_index(engine: SDLCEngine, loaded: LoadedBlueprint) -> TreeIndex | None:
    """:func:`_template_files`, kept in the cache for git checkouts (immutable per commit)."""
    import hashlib

    root = loaded.blueprint.template_root
    commit = loaded.source.commit
    if loaded.source.kind != "git" or not commit:
        return _template_files(root)
    key = hashlib.sha256(f"{commit}\0{root}".encode()).hexdigest()[:40]
    cache_file = engine.settings.cache_dir / "update-index" / f"{key}.json"
    try:
        data = json.loads(cache_file.read_bytes())
        if data is None:
            return None
        return (
            {rel: (str(d), bool(x)) for rel, (d, x) in data["files"].items()},
            frozenset(data["empty"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        pass
    index = _template_files(root)
    stored = None if index is None else {"files": index[0], "empty": sorted(index[1])}
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(stored), encoding="utf-8")
        os.replace(tmp, cache_file)
    except OSError:
        pass  # the cache is an optimisation only
    return index


def _fast_render(
    engine: SDLCEngine, base: WorkflowState, theirs: WorkflowState
) -> tuple[RenderPlan, RenderPlan] | None:
    """Render only the template files that differ between the two versions, when that is exact.

    With equal answers and equal render rules, a template file with the same
    bytes (and mode) in both versions renders to the same output in both, so it
    cannot change anything in the project: only the differing files are rendered,
    from a scratch copy of the blueprint holding just those. Not used when a
    template includes or imports another (a changed partial would change
    unchanged files), with links, formatters or a foreign format, or when the
    answers differ.
    """
    import shutil
    import tempfile

    assert base.loaded is not None and theirs.loaded is not None
    b_bp, t_bp = base.loaded.blueprint, theirs.loaded.blueprint
    if (
        base.answers != theirs.answers
        or b_bp.files != t_bp.files
        or b_bp.formatters
        or t_bp.formatters
        or b_bp.gitignore != t_bp.gitignore
        or b_bp.template_dir != t_bp.template_dir
        or b_bp.compat is not None
        or t_bp.compat is not None
    ):
        return None
    b_tree = _tree_index(engine, base.loaded)
    t_tree = _tree_index(engine, theirs.loaded)
    if b_tree is None or t_tree is None or b_tree[1] != t_tree[1]:
        return None
    b_files, t_files = b_tree[0], t_tree[0]
    changed = {r for r in b_files.keys() | t_files.keys() if b_files.get(r) != t_files.get(r)}
    if len(changed) > FAST_PATH_MAX_CHANGED:
        return None
    plans = []
    with tempfile.TemporaryDirectory(prefix="codeforge-update-") as scratch:
        for label, state, files in (("base", base, b_files), ("theirs", theirs, t_files)):
            assert state.loaded is not None
            bp = state.loaded.blueprint
            root = Path(scratch, label)
            template_root = root / bp.template_dir
            template_root.mkdir(parents=True, exist_ok=True)
            for rel in changed:
                if rel in files:
                    target = template_root / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(bp.template_root / rel, target)
                    if files[rel][1]:
                        target.chmod(0o755)
            if bp.gitignore is not None:
                source = (bp.root / bp.gitignore).resolve()
                if not source.is_relative_to(bp.root) or not source.is_file():
                    return None
                target = root / bp.gitignore
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            # The environment stays on the real template folder (its compiled-code cache).
            state.env = engine.environment(bp.template_root)
            real = state.loaded
            state.loaded = dataclasses.replace(real, blueprint=dataclasses.replace(bp, root=root))
            try:
                plans.append(_render(engine, state))
            finally:
                state.loaded = real
    return plans[0], plans[1]


def _load(
    engine: SDLCEngine, source: str, vcs_ref: str | None, trust: bool, *, refresh: bool = False
) -> LoadedBlueprint:
    """``source`` at ``vcs_ref`` (git: tag, branch or commit; None: the newest version)."""
    return engine.load_blueprint(source, trust=trust, vcs_ref=vcs_ref, refresh=refresh)


def _versions(
    engine: SDLCEngine,
    recorded: Recorded,
    *,
    template: str | None,
    base_template: str | None,
    to: str | None,
    trust: bool,
) -> tuple[LoadedBlueprint, LoadedBlueprint]:
    af = recorded.answers_file
    # The newest version: fetch first so tags pushed since the last look are seen.
    target = _load(engine, template or af.source, to, trust, refresh=to is None)
    if base_template is not None:
        return _load(engine, base_template, None, trust), target
    base_ref = af.commit or af.ref
    if base_ref is None:
        same = target.source.ref is None and (template is None or template == af.source)
        base = target if same else _load(engine, af.source, None, trust)
        if af.blueprint_version and _identity(engine, base)[1] != af.blueprint_version:
            raise NotFoundError(
                f"the project was made from version {af.blueprint_version} of {af.source}, "
                f"which holds version {_identity(engine, base)[1]} now and is not a git "
                "repository, so the old version cannot be rebuilt for the merge",
                hint="keep blueprints in git with a tag per version, or pass "
                "--base-template FOLDER holding the version the project was made from",
            )
        return base, target
    return _load(
        engine, af.source, _tag_or_commit(engine, af.source, af.ref, af.commit), trust
    ), target


def _tag_or_commit(
    engine: SDLCEngine, source: str, ref: str | None, commit: str | None
) -> str | None:
    """The recorded tag while it still names the recorded commit, else the commit.

    The commit is the truth, but a copier template renders the ref it was loaded at
    (``_commit``): rebuilt at the bare commit, the base would differ from what the
    project holds (``v2.0.0``) and every update would conflict in the answers file.
    """
    if commit is None or ref is None or ref == commit:
        return commit or ref
    from codeforge.sources import available_versions

    return ref if dict(available_versions(source, engine.settings)).get(ref) == commit else commit


def _foreign(loaded: LoadedBlueprint) -> bool:
    return loaded.blueprint.compat is not None


def _identity(engine: SDLCEngine, loaded: LoadedBlueprint) -> tuple[str, str]:
    """(name, version) of a loaded blueprint.

    cookiecutter and copier templates carry neither: their version is the git
    tag they were loaded at (``v1.2.0`` → ``1.2.0``; loaded at a commit, the
    highest version tag on that commit), their name the source's last path segment.
    """
    bp = loaded.blueprint
    if not _foreign(loaded):
        return bp.name, bp.version
    from codeforge.templates.schema import SEMVER_RE

    source = loaded.source.source.rstrip("/")
    name = source.rsplit("/", 1)[-1].removesuffix(".git") or bp.name
    ref = loaded.source.ref or ""
    if not SEMVER_RE.match(ref.removeprefix("v")) and loaded.source.commit:
        from codeforge.sources import available_versions

        tags = available_versions(loaded.source.source, engine.settings)
        ref = next((t for t, c in reversed(tags) if c == loaded.source.commit), ref)
    version = ref.removeprefix("v")
    return name, version if SEMVER_RE.match(version) else bp.version


def _pending_raw(raw: Sequence[Mapping[str, Any]], from_version: str, to_version: str) -> list[str]:
    """Versions of copier migrations left unmapped that this update would cross.

    A version that does not parse (even without its ``v``) counts as crossed: it
    cannot be placed, so it is not skipped silently.
    """
    from codeforge.templates.loader import semver_key

    low, high = semver_key(from_version), semver_key(to_version)
    crossed = []
    for item in raw:
        version = str(item.get("version", "?"))
        try:
            key = semver_key(version.removeprefix("v"))
        except ValueError:
            crossed.append(version)
            continue
        if low < key <= high:
            crossed.append(version)
    return crossed


def pending_migrations(
    migrations: Sequence[Migration], from_version: str, to_version: str
) -> list[Migration]:
    """Migrations above ``from_version`` and at most ``to_version``, in semver order."""
    from codeforge.templates.loader import semver_key

    low, high = semver_key(from_version), semver_key(to_version)
    chosen = [m for m in migrations if low < semver_key(m.version) <= high]
    return sorted(chosen, key=lambda m: semver_key(m.version))


# -- the operation --------------------------------------------------------------------------


def update_project(
    engine: SDLCEngine,
    project: Path,
    *,
    to: str | None = None,
    template: str | None = None,
    base_template: str | None = None,
    data: Mapping[str, Any] | None = None,
    prompter: Prompter | None = None,
    dry_run: bool = False,
    force: bool = False,
    conflict: str = INLINE,
    trust: bool = False,
    skip_migrations: bool = False,
    fast_path: bool = True,
) -> UpdateResult:
    """Merge the target blueprint version into ``project`` (see the module docstring)."""
    project = Path(project)
    if not project.is_dir():
        raise NotFoundError(f"no project folder at {project}")
    project = project.resolve()
    recovered = recover(project)  # before reading: an interrupted write may hold the answers
    if recovered is not None:
        engine.reporter.warn(recovered.message)
    recorded = read_recorded(project)
    if not dry_run and not force:
        dirty = dirty_paths(project)
        if dirty:
            shown = ", ".join(dirty[:5]) + (" …" if len(dirty) > 5 else "")
            raise ConflictError(
                f"{project} has uncommitted changes ({shown})",
                hint="commit or stash them first so the update can be undone, or pass --force",
            )
    base_loaded, target = _versions(
        engine, recorded, template=template, base_template=base_template, to=to, trust=trust
    )
    af = recorded.answers_file
    saved = dict(af.answers)
    # For cookiecutter/copier, NAME is the project folder and `project_name` is just one
    # of the template's own variables (when it has one).
    name = project.name if _foreign(target) else str(saved.pop("project_name", project.name))
    explicit = dict(data or {})
    target_bp = target.blueprint
    if _foreign(target):
        # cookiecutter/copier answer rules take no "saved" layer: recorded answers go in
        # as given ones (new questions are still asked or defaulted).
        known = {v.name for v in target_bp.variables}
        explicit = {**{k: v for k, v in saved.items() if k in known}, **explicit}
    ask = _OnlyNew(prompter, saved) if prompter is not None else None
    theirs_state = _answer(engine, target, name, explicit, saved, ask, project)
    theirs_answers = theirs_state.answers
    base_vars = {v.name: v for v in base_loaded.blueprint.variables}
    secrets_for_base = {
        k: v for k, v in theirs_answers.items() if k in base_vars and base_vars[k].secret
    }
    if _foreign(base_loaded):
        known = {v.name for v in base_loaded.blueprint.variables}
        secrets_for_base = {k: v for k, v in saved.items() if k in known}
    base_state = _answer(engine, base_loaded, name, secrets_for_base, saved, None, project)
    fast = _fast_render(engine, base_state, theirs_state) if fast_path else None
    if fast is not None:
        base_plan, theirs_plan = fast
    else:
        theirs_plan = _render(engine, theirs_state)
        base_plan = _render(engine, base_state)
    new_questions = [
        v.name for v in target_bp.variables if v.name not in saved and v.name not in (data or {})
    ]
    from_version = _identity(engine, base_loaded)[1]
    bp_name, to_version = _identity(engine, target)
    migrations: list[Migration] = []
    compat = target_bp.compat
    unmapped = _pending_raw(compat.raw_migrations, from_version, to_version) if compat else []
    if not skip_migrations and unmapped:
        raise BlueprintError(
            f"copier `_migrations` for {', '.join(unmapped)} use copier-only features "
            "(stage variables, working_directory, shell strings), which CodeForge does not run",
            where=str(target_bp.definition_file.name),
            hint="pass --skip-migrations to update without them, then run them by hand",
        )
    if not skip_migrations and target_bp.migrations:
        migrations = pending_migrations(target_bp.migrations, from_version, to_version)
        if migrations and not target.source.trusted and not dry_run:
            raise SecurityError(
                f"{bp_name} {to_version} declares migrations for "
                f"{', '.join(m.version for m in migrations)}, which run commands on your machine",
                hint="pass --trust if you trust its source (or add it to trusted_sources), "
                "or --skip-migrations to update without them",
            )
    public = public_answers(target_bp.variables, theirs_answers)
    if compat is not None:
        public = {k: v for k, v in public.items() if not k.startswith("_")}
    new_answers = AnswersFile(
        blueprint_name=bp_name,
        blueprint_version=to_version,
        source=target.source.source,
        answers={"project_name": name, **public} if compat is None else public,
        components=list(af.components),
        ref=target.source.ref,
        commit=target.source.commit,
    )
    labels = ("project", f"blueprint {from_version}", f"blueprint {to_version}")
    merger = Merger(project_reader(project), git_text_merge(labels), style=conflict)

    def compute() -> tuple[list[Change], list[Kept]]:
        merged = merger.merge(_files(base_plan), _files(theirs_plan))
        changes = merged.changes
        answers_bytes = new_answers.dump()
        current = project_reader(project)(ANSWERS_FILE)
        if current is None or current.content != answers_bytes:
            before = current.content if current is not None else None
            action = "update" if before is not None else "add"
            changes.append(Change(ANSWERS_FILE, action, answers_bytes, None, before))
        return changes, merged.kept

    result = UpdateResult(
        project=project,
        blueprint=bp_name,
        from_version=from_version,
        to_version=to_version,
        changes=[],
        kept=[],
        answers=public,
        new_questions=new_questions,
        migrations=[m.version for m in migrations],
        dry_run=dry_run,
        adopted_from=recorded.adopted_from,
        recovered=recovered,
    )
    if dry_run:
        result.changes, result.kept = compute()
        return result
    if migrations:
        _with_backup(
            project,
            lambda: _apply_with_migrations(
                engine, result, target, migrations, theirs_answers, name, compute
            ),
        )
    else:
        result.changes, result.kept = compute()
        _apply(project, result.changes)
    _record(engine, result, target, name, af)
    return result


def _files(plan: RenderPlan) -> dict[str, PlannedFile]:
    return {f.path: f for f in plan.files if f.path != ANSWERS_FILE}


def _apply(project: Path, changes: Sequence[Change]) -> None:
    from codeforge.core.sinks import apply_changes

    if changes:
        apply_changes(project, [(c.path, c.content, c.mode) for c in changes])


def _apply_with_migrations(
    engine: SDLCEngine,
    result: UpdateResult,
    target: LoadedBlueprint,
    migrations: Sequence[Migration],
    answers: Mapping[str, Any],
    name: str,
    compute: Any,
) -> None:
    for migration in migrations:
        _run_migration(engine, target, migration, "before", result, answers, name)
    result.changes, result.kept = compute()
    _apply(result.project, result.changes)
    for migration in migrations:
        _run_migration(engine, target, migration, "after", result, answers, name)


def _run_migration(
    engine: SDLCEngine,
    target: LoadedBlueprint,
    migration: Migration,
    when: str,
    result: UpdateResult,
    answers: Mapping[str, Any],
    name: str,
) -> None:
    from codeforge.core.postprocess import run_tasks

    tasks = migration.before if when == "before" else migration.after
    if not tasks:
        return
    bp = target.blueprint
    env = engine.environment(bp.template_root)
    evaluator = Evaluator(env)
    context = {
        **engine.base_context(name),
        **answers,
        "from_version": result.from_version,
        "to_version": result.to_version,
    }
    try:
        run_tasks(
            tasks,
            result.project,
            trusted=target.source.trusted,
            render=lambda text, origin: evaluator.render(text, context, f"migrations {origin}"),
            truth=lambda expr, origin: evaluator.truth(expr, context, f"migrations {origin}"),
            answers_json=json.dumps(public_answers(bp.variables, answers)),
            info=engine.reporter.info,
        )
    except CodeForgeError as exc:
        exc.message = f"migration {migration.version} ({when}): {exc.message}"
        raise
    finally:
        if env.code_cache is not None:
            env.code_cache.close()


def _with_backup(project: Path, action: Any) -> None:
    """Run ``action``; if it fails, put every byte of ``project`` back from a copy made first."""
    import secrets
    import shutil

    backup = project.parent / f".{project.name}.codeforge-backup-{secrets.token_hex(4)}"
    shutil.copytree(project, backup, symlinks=True)
    try:
        action()
    except BaseException:
        for entry in os.scandir(project):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        for entry in os.scandir(backup):
            os.replace(entry.path, os.path.join(project, entry.name))
        raise
    finally:
        shutil.rmtree(backup, ignore_errors=True)


def _record(
    engine: SDLCEngine, result: UpdateResult, target: LoadedBlueprint, name: str, af: AnswersFile
) -> None:
    if engine.recorder is None:
        return
    record = GenerationRecord(
        project_name=name,
        path=str(result.project),
        blueprint_name=result.blueprint,
        blueprint_version=result.to_version,
        blueprint_source=target.source.source,
        answers={"project_name": name, **result.answers},
        action="update",
        file_count=len(result.changes),
        record_id=os.urandom(16).hex(),
        details={
            "from_version": result.from_version,
            "to_version": result.to_version,
            "changed": [c.path for c in result.changes],
            "conflicts": result.conflicts,
            "adopted_from": result.adopted_from,
        },
    )
    try:
        engine.recorder(record)
    except StoreError as exc:
        result.record_error = exc
    except Exception as exc:  # the update is in place; say so rather than lose it
        result.record_error = StoreError(f"{type(exc).__name__}: {exc}")


def check_project(engine: SDLCEngine, project: Path, *, template: str | None = None) -> CheckResult:
    """Compare the project's recorded version with the newest version of its blueprint."""
    project = Path(project).resolve()
    recovered = recover(project)  # before reading: an interrupted write may hold the answers
    recorded = read_recorded(project)
    af = recorded.answers_file
    target = _load(engine, template or af.source, None, False, refresh=True)
    current = af.blueprint_version
    if not current:  # adopted: the version is what the recorded commit holds
        current = _identity(engine, _load(engine, af.source, af.commit or af.ref, False))[1]
    name, latest = _identity(engine, target)
    return CheckResult(
        project=project,
        blueprint=name,
        source=target.source.source,
        current=current,
        latest=latest,
        recovered=recovered,
    )
