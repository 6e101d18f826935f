"""cookiecutter templates (``cookiecutter.json``) as CodeForge blueprints.

The template's root folder (``{{cookiecutter.project_slug}}``) becomes the
blueprint's template folder: its *contents* go into ``NAME``, the project
folder ``codeforge init NAME`` creates, so NAME never has to match what the
root folder would render to. Answers follow cookiecutter's rules (in order,
defaults rendered over earlier answers under ``cookiecutter.``, lists are
choices with the first as default, dicts second, ``_x`` private and raw,
``__x`` rendered and never asked), with CodeForge's differences: a value the
user gives is never rendered as a template, unknown names are errors, and
hooks and foreign Jinja extensions need ``--trust``.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codeforge.core.answers import Evaluator, Prompter, convert
from codeforge.errors import BlueprintError, ValidationError
from codeforge.sources.compat import public_answers as recorded
from codeforge.sources.compat import template_name
from codeforge.sources.compat.hooks import ScriptHook, find_scripts, run_scripts
from codeforge.sources.compat.jinja import (
    apply_envops,
    check_envops,
    cookiecutter_defaults,
    load_extensions,
    salt,
)
from codeforge.templates.schema import Blueprint, Variable
from codeforge.templates.sections import CompatOptions

DEFINITION = "cookiecutter.json"
HOOK_STAGES = ("pre_gen_project", "post_gen_project")
_YES = frozenset({"1", "true", "t", "yes", "y", "on"})
_NO = frozenset({"0", "false", "f", "no", "n", "off"})
ORIGINAL = "_cookiecutter"  # cookiecutter's second copy of the options, before prompting


def read(path: Path) -> OrderedDict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BlueprintError(f"cannot read: {exc}", where=path.name) from exc
    try:
        data = json.loads(text, object_pairs_hook=OrderedDict)
    except json.JSONDecodeError as exc:
        raise BlueprintError(f"invalid JSON: {exc.msg}", where=f"{path.name}:{exc.lineno}") from exc
    if not isinstance(data, OrderedDict):
        raise BlueprintError("expected a JSON object of variables", where=path.name)
    return data


def _line_of(text: str, key: str) -> int | None:
    needle = json.dumps(key)
    index = text.find(needle)
    return text.count("\n", 0, index) + 1 if index >= 0 else None


def find_root_folder(folder: Path, envops: Mapping[str, Any]) -> str:
    start = envops.get("variable_start_string", "{{")
    end = envops.get("variable_end_string", "}}")
    found = sorted(
        entry.name
        for entry in os.scandir(folder)
        if entry.is_dir()
        and "cookiecutter" in entry.name
        and start in entry.name
        and end in entry.name
    )
    if not found:
        raise BlueprintError(
            "no project folder: a cookiecutter template keeps its files in a folder named "
            "like {{cookiecutter.project_slug}} beside cookiecutter.json",
            where=str(folder),
        )
    if len(found) > 1:
        raise BlueprintError(
            f"more than one project folder ({', '.join(found)}); keep exactly one",
            where=str(folder),
        )
    return found[0]


def _str_list(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BlueprintError(f"{key}: expected a list of strings", where=DEFINITION)
    return tuple(value)


def _prompt_label(prompts: Mapping[str, Any], key: str) -> str:
    label = prompts.get(key)
    if isinstance(label, dict):
        label = label.get("__prompt__", "")
    return label if isinstance(label, str) else ""


def _variables(data: Mapping[str, Any], text: str) -> tuple[Variable, ...]:
    prompts = data.get("__prompts__", {})
    result = []
    for key, raw in data.items():
        if key.startswith("_"):
            continue
        help_text = _prompt_label(prompts, key)
        line = _line_of(text, key)
        if isinstance(raw, list):
            if not raw:
                raise BlueprintError(
                    f"{key}: the list of choices is empty", where=f"{DEFINITION}:{line}"
                )
            labels = prompts.get(key) if isinstance(prompts.get(key), dict) else {}
            choices: Any = {str(labels.get(str(o), o)): o for o in raw} if labels else list(raw)
            result.append(Variable(key, "choice", help_text, raw[0], choices, line=line))
        elif isinstance(raw, bool):
            result.append(Variable(key, "bool", help_text, raw, line=line))
        elif isinstance(raw, dict):
            result.append(Variable(key, "dict", help_text, raw, line=line))
        else:
            default = "" if raw is None else str(raw)
            result.append(Variable(key, "str", help_text, default, required=False, line=line))
    return tuple(result)


def load(folder: Path, definition: Path, digest: str) -> Blueprint:
    """Map ``folder``'s cookiecutter.json onto a :class:`Blueprint`."""
    data = read(definition)
    text = definition.read_text(encoding="utf-8")
    if "template" in data or "templates" in data:
        raise BlueprintError(
            "nested templates (`template`/`templates`) are not supported; "
            "point -t at the chosen template's folder instead",
            where=DEFINITION,
        )
    envops = check_envops(data.get("_jinja2_env_vars"), f"{DEFINITION}: _jinja2_env_vars")
    if "undefined" in envops:
        raise BlueprintError("_jinja2_env_vars: `undefined` cannot be changed", where=DEFINITION)
    extensions = _str_list(data, "_extensions")
    copy_globs = _str_list(data, "_copy_without_render")
    new_lines = data.get("_new_lines")
    if new_lines not in (None, "", "\n"):
        raise BlueprintError(
            "_new_lines other than \\n is not supported", where=DEFINITION, hint="remove it"
        )
    prompts = data.get("__prompts__", {})
    if not isinstance(prompts, dict):
        raise BlueprintError("__prompts__: expected an object", where=DEFINITION)
    hooks = find_scripts(folder / "hooks", HOOK_STAGES)
    pre_prompt = find_scripts(folder / "hooks", ("pre_prompt",))
    if pre_prompt:
        raise BlueprintError(
            "pre_prompt hooks are not supported (they rewrite the template before prompting)",
            where=str(pre_prompt[0].path.relative_to(folder)),
        )
    root_folder = find_root_folder(folder, envops)
    spec = _Spec(data, folder, envops, extensions, hooks)
    variables = _variables(data, text)
    return Blueprint(
        name=template_name(folder, "cookiecutter"),
        version="0.0.0",
        root=folder,
        definition_file=definition,
        description=f"cookiecutter template {folder.name}",
        tags=("cookiecutter",),
        template_dir=root_folder,
        variables=variables,
        content_hash=digest,
        dialect="cookiecutter",
        compat=CompatOptions(
            format="cookiecutter",
            resolve=spec.resolve,
            context=spec.context,
            setup_env=spec.setup_env,
            recorded=recorded,
            run_hooks=spec.run_hooks if hooks else None,
            cache_salt=salt("cookiecutter", envops, extensions),
            strip_suffix="",
            copy_fnmatch=copy_globs,
            keep_crlf=new_lines in (None, ""),
        ),
    )


class _Spec:
    """One template's options; its methods are the CompatOptions callables."""

    def __init__(
        self,
        data: OrderedDict[str, Any],
        root: Path,
        envops: dict[str, Any],
        extensions: tuple[str, ...],
        hooks: list[ScriptHook],
    ) -> None:
        self.data = data
        self.root = root
        self.envops = envops
        self.extensions = extensions
        self.hooks = hooks
        prompts = data.get("__prompts__", {})
        self.prompts: dict[str, Any] = prompts if isinstance(prompts, dict) else {}

    def setup_env(self, env: Any, trusted: bool) -> None:
        apply_envops(env, self.envops)
        cookiecutter_defaults(env)
        load_extensions(
            env,
            self.extensions,
            trusted=trusted,
            template_root=self.root,
            setting=f"{DEFINITION}: _extensions",
        )

    # -- answers ----------------------------------------------------------------------

    def _render(self, evaluator: Evaluator, raw: Any, ns: Mapping[str, Any], origin: str) -> Any:
        """cookiecutter's render_variable: strings rendered, containers item by item."""
        if raw is None or isinstance(raw, bool):
            return raw
        if isinstance(raw, dict):
            return {
                self._render(evaluator, k, ns, origin): self._render(evaluator, v, ns, origin)
                for k, v in raw.items()
            }
        if isinstance(raw, list):
            return [self._render(evaluator, v, ns, origin) for v in raw]
        return evaluator.render(str(raw), {"cookiecutter": ns}, origin)

    def resolve(
        self,
        blueprint: Blueprint,
        evaluator: Evaluator,
        explicit: Mapping[str, Any],
        prompter: Prompter | None,
        info: Mapping[str, Any],
    ) -> dict[str, Any]:
        questions = [k for k in self.data if not k.startswith("_")]
        unknown = sorted(set(explicit) - set(questions))
        if unknown:
            raise ValidationError(
                f"unknown variable{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
                hint=f"known: {', '.join(questions) or 'none'} (private _names cannot be set)",
            )
        ns: OrderedDict[str, Any] = OrderedDict()
        original: dict[str, Any] = {}
        # First pass: plain values, booleans and choices; dicts may refer to them.
        for key, raw in self.data.items():
            origin = f"{DEFINITION}: {key}"
            if key == "__prompts__":
                continue
            if key.startswith("_") and not key.startswith("__"):
                ns[key] = raw
                continue
            if key.startswith("__"):
                ns[key] = self._render(evaluator, raw, ns, origin)
                continue
            if isinstance(raw, dict):
                continue
            var = blueprint.variable(key)
            assert var is not None
            if isinstance(raw, list):
                ns[key], original[key] = self._choose(var, raw, evaluator, ns, explicit, prompter)
            elif isinstance(raw, bool):
                value: Any = raw
                if key in explicit:
                    value = _yes_no(key, explicit[key])
                elif prompter is not None:
                    value = _ask(var, raw, None, prompter)
                ns[key] = value
                original[key] = value
            else:
                if key in explicit:
                    # The user's value is data, never a template (cookiecutter renders it).
                    value = _text(key, explicit[key])
                    original[key] = value
                else:
                    value = self._render(evaluator, raw, ns, origin)
                    if prompter is not None:
                        value = _ask(var, value, None, prompter)
                    original[key] = raw
                ns[key] = value
        # Second pass: dictionaries.
        self._dicts(blueprint, evaluator, explicit, prompter, ns, original)
        ns[ORIGINAL] = {k: original[k] for k in questions if k in original}
        return dict(ns)

    def _choose(
        self,
        var: Variable,
        raw: list[Any],
        evaluator: Evaluator,
        ns: Mapping[str, Any],
        explicit: Mapping[str, Any],
        prompter: Prompter | None,
    ) -> tuple[Any, list[Any]]:
        """A choice variable's value, and the list recorded for it (the pick first)."""
        key = var.name
        options = [self._render(evaluator, o, ns, f"{DEFINITION}: {key}") for o in raw]
        index = 0
        if key in explicit:
            index = _choice_index(key, explicit[key], raw, options)
        elif prompter is not None:
            pairs = [(self._label(key, o), o) for o in options]
            picked = _ask(var, options[0], pairs, prompter)
            index = options.index(picked)
        return options[index], [raw[index], *raw[:index], *raw[index + 1 :]]

    def _dicts(
        self,
        blueprint: Blueprint,
        evaluator: Evaluator,
        explicit: Mapping[str, Any],
        prompter: Prompter | None,
        ns: OrderedDict[str, Any],
        original: dict[str, Any],
    ) -> None:
        """Dictionary variables, after the plain ones they may refer to."""
        for key, raw in self.data.items():
            if (key.startswith("_") and not key.startswith("__")) or not isinstance(raw, dict):
                continue
            value = self._render(evaluator, raw, ns, f"{DEFINITION}: {key}")
            if key in explicit:
                override = explicit[key]
                if isinstance(override, str):
                    override = convert(Variable(key, "dict"), override)
                if not isinstance(override, dict):
                    raise ValidationError("expected a mapping (JSON object)", variable=key)
                value = _merge(value, _as_rendered(override))
            elif prompter is not None and not key.startswith("__"):
                var = blueprint.variable(key)
                assert var is not None
                value = _ask(var, value, None, prompter)
            ns[key] = value
            if not key.startswith("_"):
                original[key] = _merge(raw, explicit[key]) if key in explicit else raw

    def _label(self, key: str, option: Any) -> str:
        labels = self.prompts.get(key)
        if isinstance(labels, dict) and isinstance(option, str) and option in labels:
            return str(labels[option])
        return str(option)

    # -- rendering --------------------------------------------------------------------

    def context(
        self,
        blueprint: Blueprint,
        evaluator: Evaluator,
        answers: Mapping[str, Any],
        info: Mapping[str, Any],
    ) -> dict[str, Any]:
        # cookiecutter.json's order (dicts were answered last but keep their place).
        ns = OrderedDict((k, answers[k]) for k in self.data if k in answers)
        # What cookiecutter adds after prompting: where it read from and writes to.
        ns["_template"] = info["source"]
        ns["_output_dir"] = info["output_dir"]
        ns["_repo_dir"] = str(self.root)
        ns["_checkout"] = None
        return {"cookiecutter": dict(ns), ORIGINAL: dict(answers.get(ORIGINAL, {}))}

    def run_hooks(
        self,
        stage: str,
        cwd: Path,
        context: Mapping[str, Any],
        trusted: bool,
        evaluator: Evaluator,
        info: Any,
    ) -> None:
        name = "pre_gen_project" if stage == "pre" else "post_gen_project"
        scripts = [h for h in self.hooks if h.stage == name]
        run_scripts(
            scripts,
            cwd,
            trusted=trusted,
            render=lambda text, origin: evaluator.render(text, context, origin),
            root=self.root,
            info=info,
        )


def _choice_index(key: str, value: Any, raw: list[Any], options: list[Any]) -> int:
    for candidates in (raw, options):
        for index, option in enumerate(candidates):
            if value == option and type(value) is type(option):
                return index
    if isinstance(value, str):
        for index, option in enumerate(options):
            if value == str(option):
                return index
    shown = ", ".join(str(o) for o in options)
    raise ValidationError(f"{value!r} is not one of the choices: {shown}", variable=key)


def _yes_no(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _YES | _NO:
        return value.strip().lower() in _YES
    raise ValidationError(f"expected yes/no (true/false), got {value!r}", variable=key)


def _text(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationError(f"expected text, got {type(value).__name__}", variable=key)
    return str(value)


def _as_rendered(value: Any) -> Any:
    """What cookiecutter's rendering makes of a value's shape: numbers become text.

    Strings are left as they are: CodeForge never renders a user's value.
    """
    if isinstance(value, dict):
        return {str(k): _as_rendered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_rendered(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _merge(base: Any, override: Mapping[str, Any]) -> dict[str, Any]:
    """cookiecutter's partial overwrite of a dict variable."""
    result = dict(base) if isinstance(base, dict) else {}
    for key, value in override.items():
        if isinstance(result.get(key), dict) and isinstance(value, dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result


def _ask(
    var: Variable,
    default: Any,
    pairs: list[tuple[str, Any]] | None,
    prompter: Prompter,
) -> Any:
    error: str | None = None
    kind = Variable(var.name, var.type, var.help, default, var.choices, required=False)
    for _ in range(100):
        raw = prompter.ask(var, default, pairs, error)
        try:
            if var.type == "bool" and isinstance(raw, str):
                return _yes_no(var.name, raw)
            return convert(kind, raw, pairs)
        except ValidationError as exc:
            error = exc.message
    raise ValidationError("too many invalid answers", variable=var.name)
