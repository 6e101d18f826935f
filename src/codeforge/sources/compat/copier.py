"""copier templates (``copier.yml``) as CodeForge blueprints.

The template's files (the folder itself, or ``_subdirectory``) render straight
into ``NAME``, as ``copier copy TEMPLATE NAME`` would. Only files ending in
``_templates_suffix`` (``.jinja``) are rendered; ``_exclude`` matches rendered
paths; the answers file is whatever the template renders from
``{{ _copier_answers|to_nice_yaml }}``. Questions follow copier's rules: typed
(str, int, float, bool, json, yaml, path), ``when`` (false: not asked, not
recorded, default still usable), ``validator`` (Jinja rendering an error
message), choices (list, mapping, pairs, templated), ``multiselect``,
``secret`` (never recorded). Differences: unknown ``--data`` names are errors,
tasks run only for trusted sources and never through a shell.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codeforge.core.answers import Evaluator, Prompter
from codeforge.errors import BlueprintError, ValidationError
from codeforge.sources.compat import public_answers as recorded
from codeforge.sources.compat import template_name
from codeforge.sources.compat.copier_questions import (
    HIDDEN,
    TYPES,
    Question,
    cast_to_bool,
    infer_type,
)
from codeforge.sources.compat.copier_settings import (
    SETTINGS,
    Fail,
    Settings,
    read_settings,
    string_list,
)
from codeforge.sources.compat.hooks import refuse_untrusted, run_argv, split_command
from codeforge.sources.compat.jinja import (
    apply_envops,
    copier_defaults,
    load_extensions,
    salt,
)
from codeforge.templates.definition import read_definition, where
from codeforge.templates.schema import MISSING, Blueprint, Variable
from codeforge.templates.sections import CompatOptions

DEFINITIONS = ("copier.yml", "copier.yaml")
_QUESTION_KEYS = (
    "type",
    "default",
    "help",
    "choices",
    "multiselect",
    "secret",
    "validator",
    "when",
    "placeholder",
    "multiline",
    "qmark",
    "ask",
)


def load(folder: Path, definition: Path, digest: str) -> Blueprint:
    """Map ``folder``'s copier.yml onto a :class:`Blueprint`."""
    data, locate = read_definition(definition)
    if not isinstance(data, dict):
        raise BlueprintError("expected a mapping of questions and settings", where=definition.name)

    def fail(key: str, message: str, *sub: str) -> BlueprintError:
        return BlueprintError(f"{key}: {message}", where=where(definition, locate((key, *sub))))

    questions, raw_settings = _split(data, definition, fail)
    settings = read_settings(raw_settings, definition, fail)
    spec_obj = _Spec(
        questions=questions,
        root=folder,
        envops=settings.envops,
        extensions=settings.extensions,
        answers_file=settings.answers_file,
        tasks=settings.tasks,
        skip_if_exists=settings.skip_if_exists,
        exclude=settings.exclude,
    )
    return Blueprint(
        name=template_name(folder, "copier"),
        version="0.0.0",
        root=folder,
        definition_file=definition,
        description=f"copier template {folder.name}",
        tags=("copier",),
        template_dir=settings.subdir.strip("/") or "",
        variables=_variables(questions, locate),
        content_hash=digest,
        dialect="copier",
        compat=_compat_options(spec_obj, settings),
        migrations=settings.mapped,
    )


def _split(
    data: Mapping[Any, Any], definition: Path, fail: Fail
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Sort the top-level keys into questions and ``_`` settings, checking both."""
    questions: dict[str, dict[str, Any]] = {}
    settings: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise BlueprintError(f"keys must be strings, got {key!r}", where=definition.name)
        if key.startswith("_"):
            if key not in SETTINGS:
                raise fail(
                    key, f"unknown or unsupported setting (supported: {', '.join(SETTINGS)})"
                )
            settings[key] = value
            continue
        questions[key] = _question(key, value, fail)
    for secret in string_list(settings, "_secret_questions", fail):
        if secret in questions:
            questions[secret]["secret"] = True
    for name, spec in questions.items():
        if spec.get("secret") and "default" not in spec:
            raise fail(name, "a secret question needs a default (copier's rule)")
    return questions, settings


def _question(key: str, value: Any, fail: Fail) -> dict[str, Any]:
    """Check one question (a mapping or a bare default) and return its spec."""
    spec = value if isinstance(value, dict) else {"default": value}
    for sub in spec:
        if sub not in _QUESTION_KEYS:
            raise fail(key, f"unknown key {sub!r} (allowed: {', '.join(_QUESTION_KEYS)})", sub)
    qtype = spec.get("type", "")
    if isinstance(qtype, str) and qtype and "{" not in qtype and qtype not in TYPES:
        raise fail(key, f"unknown type {qtype!r} (expected one of: {', '.join(TYPES)})", "type")
    return dict(spec)


def _compat_options(spec_obj: _Spec, settings: Settings) -> CompatOptions:
    """Return the hooks through which the generator renders a copier template."""
    return CompatOptions(
        format="copier",
        resolve=spec_obj.resolve,
        context=spec_obj.context,
        setup_env=spec_obj.setup_env,
        recorded=recorded,
        run_hooks=spec_obj.run_tasks if settings.tasks else None,
        cache_salt=salt("copier", settings.envops, spec_obj.extensions),
        strip_suffix=settings.suffix,
        suffix_only=True,
        rules=spec_obj.rendered_rules,  # they may hold Jinja: rendered with the answers
        keep_crlf=False,
        raw_migrations=settings.unmapped,
        keep_links=settings.preserve_symlinks,
    )


def _variables(questions: Mapping[str, Mapping[str, Any]], locate: Any) -> tuple[Variable, ...]:
    result = []
    for name, spec in questions.items():
        qtype = spec.get("type") or infer_type(spec.get("default", MISSING))
        default = spec.get("default", MISSING)
        choices = spec.get("choices")
        if spec.get("secret"):
            vtype = "secret"
        elif choices:
            vtype = "multichoice" if spec.get("multiselect") else "choice"
        else:
            vtype = {"int": "int", "float": "float", "bool": "bool"}.get(str(qtype), "str")
            if qtype in ("yaml", "json") and isinstance(default, dict):
                vtype = "dict"
            elif qtype in ("yaml", "json") and isinstance(default, list):
                vtype = "list"
        if isinstance(choices, list) and choices and isinstance(choices[0], list):
            choices = {str(c[0]): c[1] for c in choices if len(c) == 2}
        when = spec.get("when")
        result.append(
            Variable(
                name=name,
                type=vtype,
                help=str(spec.get("help", "")),
                default=default,
                choices=choices,
                when=None if when in (None, True) else str(when),
                required=default is MISSING,
                line=locate((name,)),
            )
        )
    return tuple(result)


class _Spec:
    def __init__(
        self,
        *,
        questions: dict[str, dict[str, Any]],
        root: Path,
        envops: dict[str, Any],
        extensions: tuple[str, ...],
        answers_file: str,
        tasks: list[Any],
        skip_if_exists: tuple[str, ...],
        exclude: tuple[str, ...],
    ) -> None:
        self.questions = questions
        self.root = root
        self.envops = envops
        self.extensions = extensions
        self.answers_file = answers_file
        self.tasks = tasks
        self.skip_if_exists = skip_if_exists
        self.exclude = exclude

    def setup_env(self, env: Any, trusted: bool) -> None:
        apply_envops(env, self.envops)
        copier_defaults(env)
        load_extensions(
            env,
            self.extensions,
            trusted=trusted,
            template_root=self.root,
            setting="copier.yml: _jinja_extensions",
        )

    # -- context ----------------------------------------------------------------------

    def _meta(self, info: Mapping[str, Any]) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if info.get("commit"):
            meta["_commit"] = info.get("ref") or info["commit"]
        meta["_src_path"] = info["source"]
        return meta

    def _conf(self, info: Mapping[str, Any], answers_file: str) -> dict[str, Any]:
        return {
            "src_path": str(self.root),
            "dst_path": info["destination"],
            "answers_file": answers_file,
            "vcs_ref": info.get("ref"),
            "vcs_ref_hash": info.get("commit"),
            "data": {},
            "exclude": [],
            "skip_if_exists": [],
            "defaults": True,
            "overwrite": False,
            "pretend": False,
            "quiet": True,
            "unsafe": bool(info.get("trusted")),
            "sep": "/",
            "os": "linux",
        }

    def _context(
        self,
        answers: Mapping[str, Any],
        recorded_keys: list[str],
        info: Mapping[str, Any],
        phase: str,
        answers_file: str = "",
    ) -> dict[str, Any]:
        meta = self._meta(info)
        remembered = {**meta, **{k: answers[k] for k in recorded_keys if k in answers}}
        return {
            **meta,
            **answers,
            "_copier_answers": remembered,
            "_copier_conf": self._conf(info, answers_file),
            "_folder_name": info["name"],
            "_copier_python": sys.executable,
            "_copier_phase": phase,
        }

    def _render_value(
        self, evaluator: Evaluator, value: Any, ctx: Mapping[str, Any], origin: str
    ) -> Any:
        if isinstance(value, str):
            return evaluator.render(value, ctx, origin)
        if isinstance(value, list):
            return [self._render_value(evaluator, v, ctx, origin) for v in value]
        return value

    # -- answers ----------------------------------------------------------------------

    def resolve(
        self,
        blueprint: Blueprint,
        evaluator: Evaluator,
        explicit: Mapping[str, Any],
        prompter: Prompter | None,
        info: Mapping[str, Any],
    ) -> dict[str, Any]:
        unknown = sorted(set(explicit) - set(self.questions))
        if unknown:
            raise ValidationError(
                f"unknown variable{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
                hint=f"known: {', '.join(self.questions) or 'none'}",
            )
        answers: dict[str, Any] = {}
        hidden: dict[str, Any] = {}
        # copier lists given answers first, then the rest in question order.
        order = [k for k in explicit if k in self.questions]
        order += [k for k in self.questions if k not in explicit]
        recorded_keys: list[str] = []
        for name, spec in self.questions.items():
            ctx = self._context({**hidden, **answers}, recorded_keys, info, "prompt")
            q = Question(self, name, spec, evaluator, ctx)
            if not q.when():
                default = q.default(validate=False)
                if default is not MISSING:
                    hidden[name] = default
                continue
            if name in explicit:
                value = q.parse(explicit[name])
                q.validate(value)
            else:
                value = q.default(validate=not spec.get("secret"))
                asked = cast_to_bool(q.render(spec.get("ask", True)))
                if prompter is not None and asked:
                    value = q.ask(prompter, blueprint.variable(name), value)
                elif value is MISSING:
                    raise ValidationError(
                        "no value given and the question has no default",
                        variable=name,
                        hint=f"pass --data {name}=VALUE",
                    )
            answers[name] = value
            if not spec.get("secret"):
                recorded_keys.append(name)
        ordered = {k: answers[k] for k in order if k in answers}
        return {**ordered, HIDDEN: hidden}

    def context(
        self,
        blueprint: Blueprint,
        evaluator: Evaluator,
        answers: Mapping[str, Any],
        info: Mapping[str, Any],
    ) -> dict[str, Any]:
        public = {k: v for k, v in answers.items() if k != HIDDEN}
        recorded_keys = [k for k in public if not self.questions.get(k, {}).get("secret")]
        values = {**dict(answers.get(HIDDEN, {})), **public}
        base = self._context(values, recorded_keys, info, "render", "")
        answers_file = evaluator.render(self.answers_file, base, "copier.yml: _answers_file")
        ctx = self._context(values, recorded_keys, info, "render", answers_file)
        return ctx

    def rendered_rules(
        self, evaluator: Evaluator, ctx: Mapping[str, Any]
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``_exclude`` and ``_skip_if_exists``, rendered (each line one pattern)."""
        exclude: list[str] = []
        for pattern in self.exclude:
            text = evaluator.render(pattern, {**ctx, "_copier_operation": "copy"}, "_exclude")
            exclude.extend(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
        skip = tuple(evaluator.render(p, ctx, "_skip_if_exists") for p in self.skip_if_exists)
        return tuple(exclude), skip

    # -- tasks ------------------------------------------------------------------------

    def run_tasks(
        self,
        stage: str,
        cwd: Path,
        context: Mapping[str, Any],
        trusted: bool,
        evaluator: Evaluator,
        info: Any,
    ) -> None:
        if stage != "post" or not self.tasks:
            return
        if not trusted:
            raise refuse_untrusted([f"_tasks ({len(self.tasks)})"], self.root)
        extra = {"_stage": "task", "_copier_operation": "copy"}
        ctx = {**context, **extra}
        env = {k[1:].upper(): str(v) for k, v in extra.items()}
        for index, task in enumerate(self.tasks):
            origin = f"copier.yml: _tasks[{index}]"
            command, when, workdir = task, "true", "."
            if isinstance(task, dict):
                command = task.get("command")
                when = task.get("when", "true")
                workdir = str(task.get("working_directory", "."))
            if not cast_to_bool(self._render_value(evaluator, when, ctx, origin)):
                continue
            argv = [evaluator.render(part, ctx, origin) for part in split_command(command, origin)]
            target = (cwd / evaluator.render(workdir, ctx, origin)).resolve()
            if not target.is_relative_to(cwd.resolve()):
                raise BlueprintError(f"{origin}: working_directory leaves the project")
            info(f"running task {index + 1} of {len(self.tasks)}: {' '.join(argv)}")
            run_argv(argv, target, origin, env)
