"""Strict validation of a blueprint definition into the model of :mod:`.schema`.

Every error names the file and line it came from (a hand-written checker over
the parsed YAML or TOML, see :mod:`.definition`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeforge.errors import BlueprintError
from codeforge.templates.definition import KeyPath, Locator, where
from codeforge.templates.schema import (
    FORMATTERS,
    MISSING,
    NAME_RE,
    SEMVER_RE,
    VAR_NAME_RE,
    VARIABLE_TYPES,
    Blueprint,
    FileRules,
    Variable,
)

# The optional sections' classes are imported where a definition has the section
# (see codeforge.templates.sections): most definitions have none of them.
if TYPE_CHECKING:
    from codeforge.templates.publish import PublishSpec
    from codeforge.templates.sections import (
        Component,
        Migration,
        Pipeline,
        Task,
        Validator,
    )
    from codeforge.templates.workflow import Workflow

# -- validation -------------------------------------------------------------------------


class _Checker:
    def __init__(self, file: Path, locate: Locator) -> None:
        self.file = file
        self.locate = locate

    def fail(self, keys: KeyPath, message: str, hint: str | None = None) -> BlueprintError:
        dotted = ".".join(str(k) for k in keys)
        text = f"{dotted}: {message}" if dotted else message
        return BlueprintError(text, where=where(self.file, self.locate(keys)), hint=hint)

    def mapping(self, value: Any, keys: KeyPath, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(keys, f"expected a mapping, got {_type_name(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(keys, f"keys must be strings, got {key!r}")
            if key not in allowed:
                raise self.fail((*keys, key), f"unknown key (allowed: {', '.join(allowed)})")
        return value

    def entries(
        self,
        value: Any,
        keys: KeyPath,
        allowed: tuple[str, ...],
        required: tuple[str, ...],
        expected: str = "expected a list",
    ) -> Iterator[tuple[dict[str, Any], KeyPath]]:
        """Each mapping of the list ``value``, with its key path, once its keys are checked."""
        if not isinstance(value, list):
            raise self.fail(keys, expected)
        for i, item in enumerate(value):
            ikeys = (*keys, i)
            item = self.mapping(item, ikeys, allowed)
            for name in required:
                if name not in item:
                    raise self.fail(ikeys, f"missing `{name}`")
            yield item, ikeys

    def str_(
        self, value: Any, keys: KeyPath, *, pattern: re.Pattern[str] | None = None, what: str = ""
    ) -> str:
        if not isinstance(value, str):
            raise self.fail(keys, f"expected a string, got {_type_name(value)}")
        if pattern is not None and not pattern.match(value):
            raise self.fail(keys, f"{value!r} is not a valid {what}")
        return value

    def str_list(self, value: Any, keys: KeyPath) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(keys, f"expected a list of strings, got {_type_name(value)}")
        return tuple(self.str_(item, (*keys, i)) for i, item in enumerate(value))

    def bool_(self, value: Any, keys: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise self.fail(keys, f"expected true or false, got {_type_name(value)}")
        return value

    def relpath(self, value: Any, keys: KeyPath) -> str:
        text = self.str_(value, keys)
        # Keys that point at files stay inside the blueprint (threat model, surface 4).
        parts = text.replace("\\", "/").split("/")
        if text.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", text) or ".." in parts:
            raise self.fail(keys, f"{text!r} must be a relative path inside the blueprint")
        return text


def _type_name(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)


_VARIABLE_KEYS = ("type", "help", "default", "choices", "when", "validators", "required")
_VALIDATOR_KEYS = ("regex", "min", "max", "min_length", "max_length", "expr", "message")


def _variables(c: _Checker, value: Any, keys: KeyPath) -> tuple[Variable, ...]:
    """Check the ``variables`` mapping at ``keys`` and return its variables in order."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise c.fail(keys, f"expected a mapping of variables, got {_type_name(value)}")
    return tuple(_variable(c, name, spec, (*keys, name)) for name, spec in value.items())


def _variable(c: _Checker, name: Any, spec: Any, vkeys: KeyPath) -> Variable:
    """Check one variable's name and spec (a mapping or a bare default) at ``vkeys``."""
    c.str_(name, vkeys, pattern=VAR_NAME_RE, what="variable name")
    if spec is None:
        spec = {}
    elif not isinstance(spec, dict):
        # Shorthand: `name: default`.
        spec = {"default": spec}
    spec = c.mapping(spec, vkeys, _VARIABLE_KEYS)
    vtype = spec.get("type", "str")
    if vtype not in VARIABLE_TYPES:
        raise c.fail(
            (*vkeys, "type"),
            f"unknown type {vtype!r} (expected one of: {', '.join(VARIABLE_TYPES)})",
        )
    choices = spec.get("choices")
    _check_choices(c, vtype, choices, vkeys)
    when = spec.get("when")
    if when is not None and not isinstance(when, str | bool):
        raise c.fail((*vkeys, "when"), "expected a Jinja expression string or a boolean")
    validators = _validators(c, spec.get("validators", []), vkeys)
    required = spec.get("required", True)
    c.bool_(required, (*vkeys, "required"))
    help_text = spec.get("help", "")
    c.str_(help_text, (*vkeys, "help"))
    return Variable(
        name=name,
        type=vtype,
        help=help_text,
        default=spec.get("default", MISSING),
        choices=choices,
        when=when if isinstance(when, str) else (None if when in (None, True) else "false"),
        validators=validators,
        required=required,
        line=c.locate(vkeys),
    )


def _check_choices(c: _Checker, vtype: str, choices: Any, vkeys: KeyPath) -> None:
    """Require ``choices`` for choice types (a non-empty list, a mapping or Jinja), else none."""
    if vtype in ("choice", "multichoice"):
        if choices is None:
            raise c.fail(vkeys, f"type {vtype} needs `choices`")
        if isinstance(choices, list):
            if not choices:
                raise c.fail((*vkeys, "choices"), "the list of choices is empty")
        elif not isinstance(choices, dict | str):
            raise c.fail((*vkeys, "choices"), "expected a list, a mapping or a Jinja string")
    elif choices is not None:
        raise c.fail(
            (*vkeys, "choices"),
            f"`choices` only applies to choice and multichoice, not {vtype}",
        )


def _validators(c: _Checker, raw: Any, vkeys: KeyPath) -> tuple[Validator, ...]:
    """Check a variable's ``validators`` list; each item gives one validator per kind."""
    if not isinstance(raw, list):
        raise c.fail((*vkeys, "validators"), "expected a list")
    if not raw:
        return ()
    from codeforge.templates.sections import Validator

    validators = []
    for i, item in enumerate(raw):
        ikeys = (*vkeys, "validators", i)
        item = c.mapping(item, ikeys, _VALIDATOR_KEYS)
        message = item.get("message")
        if message is not None:
            c.str_(message, (*ikeys, "message"))
        kinds = [k for k in item if k != "message"]
        if not kinds:
            raise c.fail(
                ikeys, "a validator needs one of regex, min, max, min_length, max_length, expr"
            )
        for kind in kinds:
            _check_validator_arg(c, kind, item[kind], (*ikeys, kind))
            validators.append(Validator(kind, item[kind], message))
    return tuple(validators)


def _check_validator_arg(c: _Checker, kind: str, arg: Any, keys: KeyPath) -> None:
    """Check the argument of one validator ``kind`` (a string, a number or a count)."""
    if kind in ("regex", "expr"):
        c.str_(arg, keys)
        if kind == "regex":
            _check_regex(c, arg, keys)
    elif kind in ("min", "max"):
        if isinstance(arg, bool) or not isinstance(arg, int | float):
            raise c.fail(keys, "expected a number")
    elif isinstance(arg, bool) or not isinstance(arg, int) or arg < 0:
        raise c.fail(keys, "expected a non-negative integer")


def _check_regex(c: _Checker, pattern: str, keys: KeyPath) -> None:
    import regex

    try:
        regex.compile(pattern)
    except regex.error as exc:
        raise c.fail(keys, f"invalid regular expression: {exc}") from exc


def _files(c: _Checker, value: Any, keys: KeyPath) -> FileRules:
    if value is None:
        return FileRules()
    spec = c.mapping(value, keys, ("exclude", "copy_only", "skip_if_exists", "loops"))
    loops = []
    fields = ("path", "over", "as")
    for item, lkeys in c.entries(spec.get("loops", []), (*keys, "loops"), fields, fields):
        from codeforge.templates.sections import Loop

        loops.append(
            Loop(
                path=c.relpath(item["path"], (*lkeys, "path")),
                over=c.str_(
                    item["over"], (*lkeys, "over"), pattern=VAR_NAME_RE, what="variable name"
                ),
                as_=c.str_(item["as"], (*lkeys, "as"), pattern=VAR_NAME_RE, what="variable name"),
            )
        )
    return FileRules(
        exclude=c.str_list(spec.get("exclude", []), (*keys, "exclude")),
        copy_only=c.str_list(spec.get("copy_only", []), (*keys, "copy_only")),
        skip_if_exists=c.str_list(spec.get("skip_if_exists", []), (*keys, "skip_if_exists")),
        loops=tuple(loops),
    )


def _components(c: _Checker, value: Any, keys: KeyPath) -> dict[str, Component]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise c.fail(keys, "expected a mapping of components")
    from codeforge.templates.sections import Component, Insertion

    result = {}
    for name, spec in value.items():
        ckeys = (*keys, name)
        c.str_(name, ckeys, pattern=NAME_RE, what="component name")
        spec = c.mapping(spec, ckeys, ("description", "template_dir", "variables", "insertions"))
        insertions = []
        for item, ikeys in c.entries(
            spec.get("insertions", []),
            (*ckeys, "insertions"),
            ("file", "anchor", "content", "position"),
            ("file", "anchor", "content"),
        ):
            position = item.get("position", "after")
            if position not in ("after", "before"):
                raise c.fail((*ikeys, "position"), "expected `after` or `before`")
            insertions.append(
                Insertion(
                    file=c.relpath(item["file"], (*ikeys, "file")),
                    anchor=c.str_(item["anchor"], (*ikeys, "anchor")),
                    content=c.str_(item["content"], (*ikeys, "content")),
                    position=position,
                )
            )
        result[name] = Component(
            name=name,
            description=c.str_(spec.get("description", ""), (*ckeys, "description")),
            template_dir=c.relpath(
                spec.get("template_dir", f"components/{name}"), (*ckeys, "template_dir")
            ),
            variables=_variables(c, spec.get("variables"), (*ckeys, "variables")),
            insertions=tuple(insertions),
        )
    return result


def _tasks(c: _Checker, value: Any, keys: KeyPath) -> tuple[Task, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise c.fail(keys, "expected a list of commands")
    from codeforge.templates.sections import Task

    tasks = []
    for i, item in enumerate(value):
        tkeys = (*keys, i)
        if isinstance(item, list):
            item = {"command": item}
        item = c.mapping(item, tkeys, ("command", "when"))
        command = c.str_list(item.get("command"), (*tkeys, "command"))
        if not command:
            raise c.fail((*tkeys, "command"), "the command is empty")
        when = item.get("when")
        if when is not None:
            c.str_(when, (*tkeys, "when"))
        tasks.append(Task(command=command, when=when))
    return tuple(tasks)


def _migrations(c: _Checker, value: Any, keys: KeyPath) -> tuple[Migration, ...]:
    if value is None:
        return ()
    from codeforge.templates.sections import Migration

    result = []
    seen: set[str] = set()
    for item, mkeys in c.entries(
        value,
        keys,
        ("version", "before", "after"),
        ("version",),
        "expected a list of {version, before, after} entries",
    ):
        version = item["version"]
        if isinstance(version, int | float) and not isinstance(version, bool):
            version = str(version)
        c.str_(version, (*mkeys, "version"), pattern=SEMVER_RE, what="semantic version")
        if version in seen:
            raise c.fail((*mkeys, "version"), f"version {version} has two migration entries")
        seen.add(version)
        before = _tasks(c, item.get("before"), (*mkeys, "before"))
        after = _tasks(c, item.get("after"), (*mkeys, "after"))
        if not before and not after:
            raise c.fail(mkeys, "a migration needs `before` or `after` tasks")
        result.append(Migration(version=version, before=before, after=after))
    return tuple(result)


def _formatters(c: _Checker, value: Any) -> tuple[str, ...]:
    formatters = c.str_list(value, ("formatters",))
    for i, fmt in enumerate(formatters):
        if fmt not in FORMATTERS:
            raise c.fail(
                ("formatters", i), f"unknown formatter {fmt!r} (known: {', '.join(FORMATTERS)})"
            )
    return formatters


_TOP_KEYS = (
    "name",
    "version",
    "description",
    "tags",
    "min_codeforge_version",
    "template_dir",
    "variables",
    "files",
    "components",
    "formatters",
    "tasks",
    "gitignore",
    "migrations",
    "next_steps",
    "pipeline",
    "workflow",
    "publish",
)


def _pipeline(c: _Checker, value: Any) -> Pipeline | None:
    if value is None:
        return None
    from codeforge.templates.sections import parse_pipeline

    return parse_pipeline(c, value, ("pipeline",))


def _workflow(c: _Checker, value: Any) -> Workflow | None:
    if value is None:
        return None
    from codeforge.templates.workflow import parse_workflow

    return parse_workflow(c, value, ("workflow",))


def _publish(c: _Checker, value: Any, variables: tuple[Variable, ...]) -> PublishSpec | None:
    if value is None:
        return None
    from codeforge.templates.publish import parse_publish

    return parse_publish(c, value, ("publish",), variables)


def build_blueprint(
    data: dict[str, Any],
    locate: Locator,
    *,
    root: Path,
    definition: Path,
    content_hash: str,
    version_check: Callable[[str], None] | None = None,
) -> Blueprint:
    """Validate ``data`` strictly and return the :class:`Blueprint` it describes."""
    c = _Checker(definition, locate)
    c.mapping(data, (), _TOP_KEYS)
    for required in ("name", "version"):
        if required not in data:
            raise c.fail((), f"missing required key `{required}`")
    name = c.str_(
        data["name"],
        ("name",),
        pattern=NAME_RE,
        what="blueprint name (lowercase letters, digits, . _ -)",
    )
    version = data["version"]
    if isinstance(version, int | float) and not isinstance(version, bool):
        version = str(version)
    c.str_(version, ("version",), pattern=SEMVER_RE, what="semantic version (like 1.2.3)")
    min_version = data.get("min_codeforge_version")
    if min_version is not None:
        c.str_(min_version, ("min_codeforge_version",), pattern=SEMVER_RE, what="semantic version")
        if version_check is not None:
            try:
                version_check(min_version)
            except BlueprintError as exc:
                raise c.fail(("min_codeforge_version",), exc.message) from exc
    formatters = _formatters(c, data.get("formatters", []))
    variables = _variables(c, data.get("variables"), ("variables",))
    gitignore = data.get("gitignore")
    return Blueprint(
        name=name,
        version=version,
        root=root,
        definition_file=definition,
        description=c.str_(data.get("description", ""), ("description",)),
        tags=c.str_list(data.get("tags", []), ("tags",)),
        min_codeforge_version=min_version,
        template_dir=c.relpath(data.get("template_dir", "template"), ("template_dir",)),
        variables=variables,
        files=_files(c, data.get("files"), ("files",)),
        components=_components(c, data.get("components"), ("components",)),
        formatters=formatters,
        tasks=_tasks(c, data.get("tasks"), ("tasks",)),
        gitignore=None if gitignore is None else c.relpath(gitignore, ("gitignore",)),
        content_hash=content_hash,
        migrations=_migrations(c, data.get("migrations"), ("migrations",)),
        next_steps=c.str_(data.get("next_steps", ""), ("next_steps",)),
        pipeline=_pipeline(c, data.get("pipeline")),
        workflow=_workflow(c, data.get("workflow")),
        publish=_publish(c, data.get("publish"), variables),
    )
