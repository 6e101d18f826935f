"""A small taint pass over Python's AST: does untrusted data reach a dangerous sink?

Sources: ``input()``, ``sys.argv``, ``os.environ`` / ``os.getenv``, and a web
request's ``args``, ``form``, ``values``, ``json``, ``cookies``, ``headers``,
``data``. Sinks: ``subprocess`` calls with ``shell=True`` and ``os.system`` /
``os.popen`` (CWE-78), ``execute`` / ``executemany`` / ``executescript`` on
built SQL (CWE-89), ``eval`` / ``exec`` (CWE-94), and a path built from untrusted
data given to ``open``, ``os.remove``, ``shutil``, ``send_file`` or a path object's
``read_*`` / ``write_*`` / ``unlink`` (CWE-22). ``int``, ``float``, ``bool``, ``len``,
``shlex.quote``, ``html.escape`` and ``os.path.basename`` sanitise. A check before the
sink (an allow-list, ``is_relative_to``) is not seen: such code is still reported.

It follows the data, not the pattern: assignments carry taint, constants are
folded (so ``x = "safe" if 7 * 18 + num > 200 else user_input`` with ``num = 106``
is the constant ``"safe"``), and a tainted argument to a function of the same
module taints that parameter inside it (to a fixpoint). Branches only add taint.
Each finding names the source, the sink and the names on the way (``flow``).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from codeforge.ai.findings import Finding

_UNKNOWN: Final = object()
_REQUEST_PARTS: Final = frozenset(
    ("args", "form", "values", "json", "cookies", "headers", "data", "GET", "POST", "body")
)
_SANITISERS: Final = frozenset(
    ("int", "float", "bool", "len", "quote", "escape", "abs", "round", "hash", "id", "basename")
)
# Calls whose first argument is a path to open, remove or send (CWE-22).
_PATH_CALLS: Final = frozenset(
    ("open", "io.open", "os.remove", "os.unlink", "os.rmdir", "shutil.rmtree", "send_file",
     "flask.send_file", "shutil.copy", "shutil.copyfile", "shutil.move")
)  # fmt: skip
# Methods of a path object that read, write or remove the file it names (CWE-22).
_PATH_METHODS: Final = frozenset(
    ("read_text", "read_bytes", "write_text", "write_bytes", "unlink", "rmdir")
)
_SQL_CALLS: Final = frozenset(("execute", "executemany", "executescript"))
_SHELL_OS: Final = frozenset(("system", "popen"))
_OPS: Final[dict[type[ast.AST], Callable[[Any, Any], Any]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


@dataclass(frozen=True)
class Taint:
    """Where untrusted data came from, and the names it went through."""

    source: str
    line: int
    path: tuple[str, ...] = ()

    def through(self, name: str) -> Taint:
        return self if name in self.path else Taint(self.source, self.line, (*self.path, name))


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    if isinstance(node, ast.Subscript):
        return _dotted(node.value)
    return ""


def _source(node: ast.AST) -> str | None:
    """The source ``node`` reads directly, or None."""
    name = _dotted(node)
    if isinstance(node, ast.Call) and name in ("input", "os.getenv", "getenv"):
        return f"{name}()"
    if name in ("sys.argv", "os.environ") or name.startswith(("sys.argv.", "os.environ.")):
        return name.split(".get")[0]
    parts = name.split(".")
    if len(parts) >= 2 and parts[0] == "request" and parts[1] in _REQUEST_PARTS:
        return f"request.{parts[1]}"
    return None


@dataclass
class _Scope:
    """What one function (or the module) knows: tainted names and constant names."""

    tainted: dict[str, Taint] = field(default_factory=dict)
    consts: dict[str, Any] = field(default_factory=dict)
    branch: int = 0  # > 0 inside if/while/for/try: assignments only add taint


class TaintPass:
    """The pass over one module; :meth:`run` returns its findings."""

    def __init__(self, tree: ast.Module, file: str) -> None:
        self.tree = tree
        self.file = file
        self.functions = {
            n.name: n
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        self.params: dict[str, dict[str, Taint]] = {name: {} for name in self.functions}
        self.returns: dict[str, Taint] = {}
        self.findings: dict[tuple[int, str], Finding] = {}
        self.changed = False

    # -- values --------------------------------------------------------------------

    def fold(self, node: ast.AST, scope: _Scope) -> Any:
        """The constant value of ``node``, or ``_UNKNOWN``."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return scope.consts.get(node.id, _UNKNOWN)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = self.fold(node.left, scope), self.fold(node.right, scope)
            if left is _UNKNOWN or right is _UNKNOWN:
                return _UNKNOWN
            try:
                return _OPS[type(node.op)](left, right)
            except Exception:
                return _UNKNOWN
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _OPS:
            left, right = self.fold(node.left, scope), self.fold(node.comparators[0], scope)
            if left is _UNKNOWN or right is _UNKNOWN:
                return _UNKNOWN
            try:
                return _OPS[type(node.ops[0])](left, right)
            except TypeError:
                return _UNKNOWN
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            value = self.fold(node.operand, scope)
            return _UNKNOWN if value is _UNKNOWN else not value
        if isinstance(node, ast.IfExp):
            test = self.fold(node.test, scope)
            if test is _UNKNOWN:
                return _UNKNOWN
            return self.fold(node.body if test else node.orelse, scope)
        return _UNKNOWN

    def taint(self, node: ast.AST | None, scope: _Scope) -> Taint | None:
        """Where the value of ``node`` may come from, when untrusted."""
        if node is None or isinstance(node, ast.Constant):
            return None
        source = _source(node)
        if source is not None:
            return Taint(source, getattr(node, "lineno", 0))
        if isinstance(node, ast.Name):
            return scope.tainted.get(node.id)
        if isinstance(node, ast.IfExp):
            test = self.fold(node.test, scope)
            if test is not _UNKNOWN:
                return self.taint(node.body if test else node.orelse, scope)
            return self.taint(node.body, scope) or self.taint(node.orelse, scope)
        if isinstance(node, ast.Call):
            return self._call_taint(node, scope)
        for child in ast.iter_child_nodes(node):
            found = self.taint(child, scope)
            if found is not None:
                return found
        return None

    def _call_taint(self, node: ast.Call, scope: _Scope) -> Taint | None:
        name = _dotted(node.func)
        if name.split(".")[-1] in _SANITISERS:
            return None
        if name in self.functions:
            self._bind(name, node, scope)
            return self.returns.get(name)
        receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
        for arg in [receiver, *node.args, *(k.value for k in node.keywords)]:
            found = self.taint(arg, scope)
            if found is not None:
                return found
        return None

    def _bind(self, name: str, call: ast.Call, scope: _Scope) -> None:
        """A tainted argument taints the parameter of the module's own function."""
        params = [a.arg for a in self.functions[name].args.args]
        pairs = list(zip(params, call.args, strict=False))
        pairs += [(k.arg, k.value) for k in call.keywords if k.arg in params]
        for param, arg in pairs:
            found = self.taint(arg, scope)
            if found is not None and param not in self.params[name]:
                self.params[name][param] = found.through(f"{name}({param})")
                self.changed = True

    # -- statements ----------------------------------------------------------------

    def assign(self, target: ast.AST, value: ast.AST | None, scope: _Scope) -> None:
        names = [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
        found = self.taint(value, scope)
        constant = self.fold(value, scope) if value is not None else _UNKNOWN
        for name in names:
            if found is not None:
                scope.tainted[name] = found.through(name)
            elif not scope.branch:
                scope.tainted.pop(name, None)
            if isinstance(target, ast.Name) and constant is not _UNKNOWN and not scope.branch:
                scope.consts[name] = constant
            else:
                scope.consts.pop(name, None)

    def block(self, body: list[ast.stmt], scope: _Scope, owner: str | None) -> None:
        for stmt in body:
            self.statement(stmt, scope, owner)

    def statement(self, stmt: ast.stmt, scope: _Scope, owner: str | None) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return  # functions are their own scopes; class bodies are not followed
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                self.assign(target, stmt.value, scope)
        elif isinstance(stmt, ast.AnnAssign):
            self.assign(stmt.target, stmt.value, scope)
        elif isinstance(stmt, ast.AugAssign):
            if self.taint(stmt.value, scope) is not None:  # x += constant keeps x as it was
                self.assign(stmt.target, stmt.value, scope)
        elif isinstance(stmt, ast.Return) and owner is not None:
            found = self.taint(stmt.value, scope)
            if found is not None and owner not in self.returns:
                self.returns[owner] = found.through(f"{owner}()")
                self.changed = True
        else:
            self.compound(stmt, scope, owner)
        self.sinks(stmt, scope)

    def compound(self, stmt: ast.stmt, scope: _Scope, owner: str | None) -> None:
        """Loops, branches, ``try`` and ``with``: their blocks only add taint."""
        if not isinstance(stmt, (ast.For, ast.AsyncFor, ast.If, ast.While, ast.Try, ast.With)):
            return
        scope.branch += 1
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            self.assign(stmt.target, stmt.iter, scope)
        for item in getattr(stmt, "items", []):
            if item.optional_vars is not None:
                self.assign(item.optional_vars, item.context_expr, scope)
        for part in ("body", "orelse", "finalbody"):
            self.block(getattr(stmt, part, []), scope, owner)
        for handler in getattr(stmt, "handlers", []):
            self.block(handler.body, scope, owner)
        scope.branch -= 1

    # -- sinks ---------------------------------------------------------------------

    def _calls(self, stmt: ast.stmt) -> Iterator[ast.Call]:
        """The calls in ``stmt`` itself, not in the blocks nested in it."""
        nested = ("body", "orelse", "finalbody", "handlers")
        roots = [v for k, v in ast.iter_fields(stmt) if k not in nested]
        for root in roots:
            for node in root if isinstance(root, list) else [root]:
                if isinstance(node, ast.AST):
                    yield from (n for n in ast.walk(node) if isinstance(n, ast.Call))

    def sinks(self, stmt: ast.stmt, scope: _Scope) -> None:
        for call in self._calls(stmt):
            name = _dotted(call.func)
            if name in self.functions:
                self._bind(name, call, scope)
            last = name.split(".")[-1]
            shell = any(
                k.arg == "shell" and self.fold(k.value, scope) is True for k in call.keywords
            )
            if name.startswith("subprocess.") and shell:
                self.report(call, "CWE-78", f"{name}(shell=True)", scope)
            elif name in (f"os.{n}" for n in _SHELL_OS):
                self.report(call, "CWE-78", f"{name}()", scope)
            elif last in _SQL_CALLS and isinstance(call.func, ast.Attribute):
                self.report(call, "CWE-89", f"{last}() on built SQL", scope)
            elif name in ("eval", "exec"):
                self.report(call, "CWE-94", f"{name}()", scope)
            elif name in _PATH_CALLS:
                self.report(call, "CWE-22", f"{name}() on a built path", scope)
            elif last in _PATH_METHODS and isinstance(call.func, ast.Attribute):
                path = call.func.value
                self.report(call, "CWE-22", f"{last}() on a built path", scope, path)

    def report(
        self, call: ast.Call, cwe: str, sink: str, scope: _Scope, arg: ast.AST | None = None
    ) -> None:
        """A finding at ``call`` when ``arg`` (default: its first argument) is tainted."""
        if arg is None and not call.args:
            return
        found = self.taint(arg if arg is not None else call.args[0], scope)
        if found is None:
            return
        via = f" through {', '.join(found.path)}" if found.path else ""
        flow = f"{found.source} at line {found.line} reaches {sink} at line {call.lineno}{via}."
        self.findings.setdefault(
            (call.lineno, cwe),
            Finding(
                file=self.file,
                line=call.lineno,
                severity="high",
                message=f"untrusted data from {found.source} reaches {sink}",
                source="taint",
                rule=cwe,
                cwe=cwe,
                flow=flow,
            ),
        )

    # -- the pass ------------------------------------------------------------------

    def run(self, max_rounds: int = 5) -> list[Finding]:
        """Analyse the module and its functions until no parameter gains taint."""
        for _ in range(max_rounds):
            self.changed = False
            self.block(self.tree.body, _Scope(), None)
            for name, fn in self.functions.items():
                self.block(fn.body, _Scope(tainted=dict(self.params[name])), name)
            if not self.changed:
                break
        return sorted(self.findings.values(), key=lambda f: (f.line, f.cwe))


def taint_findings(path: Path, text: str | None = None) -> list[Finding]:
    """The taint pass's findings for one file (none when it does not parse)."""
    source = text if text is not None else path.read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError):
        return []
    return TaintPass(tree, str(path)).run()
