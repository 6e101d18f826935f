"""RenderPlan: every output file rendered in memory, before anything is written.

Because the plan is data, the directory sink, the zip stream, the dry-run report,
``update`` and the tests all consume the same thing.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from codeforge.core.paths import PathSet, check_relpath
from codeforge.errors import BlueprintError, ResourceLimitError, SecurityError, TemplateError
from codeforge.settings import RenderLimits
from codeforge.templates.environment import (
    CodeForgeEnvironment,
    cache_key,
    compile_many,
    render_error,
)

if TYPE_CHECKING:
    from codeforge.templates.sections import Loop

TEMPLATE_SUFFIX = ".jinja"
# Never part of a project, whatever the blueprint says (checked without pathspec: hot path).
_ALWAYS_EXCLUDED_PARTS = frozenset({".git", "__pycache__", ".DS_Store"})


def _always_excluded(rel: str) -> bool:
    parts = rel.split("/")
    return bool(_ALWAYS_EXCLUDED_PARTS.intersection(parts)) or parts[-1].endswith((".pyc", ".pyo"))


BINARY_SNIFF = 8192


@dataclasses.dataclass(slots=True)
class PlannedFile:
    path: str  # POSIX, relative to the destination
    content: bytes
    mode: int = 0o644
    binary: bool = False
    skip_if_exists: bool = False
    origin: str = ""  # template path it came from
    # A symbolic link kept as a link (copier's `_preserve_symlinks`): its relative
    # target, POSIX, which stays inside the project; ``content`` is then empty.
    link: str | None = None


@dataclasses.dataclass
class RenderPlan:
    files: list[PlannedFile]
    directories: list[str] = dataclasses.field(default_factory=list)  # empty folders to create

    @property
    def total_bytes(self) -> int:
        return sum(len(f.content) for f in self.files)

    def by_path(self) -> dict[str, PlannedFile]:
        return {f.path: f for f in self.files}

    def add(self, planned: PlannedFile) -> None:
        self.files.append(planned)


# _Source and _Item are plain slotted classes, not dataclasses: every `init` imports this
# module, and a dataclass compiles its generated methods at import (slots=True builds the
# class twice).
class _Source:
    __slots__ = ("abspath", "link", "mode", "rel")

    def __init__(self, rel: str, abspath: str, mode: int, link: str | None = None) -> None:
        self.rel = rel  # template-relative POSIX path
        self.abspath = abspath
        self.mode = mode
        self.link = link  # a link kept as a link: its target as written in the template


class _Item:
    __slots__ = ("context", "data", "kind", "out", "src")

    def __init__(
        self, src: _Source, out: str, context: Mapping[str, Any], data: bytes, kind: str
    ) -> None:
        self.src = src
        self.out = out
        self.context = context
        self.data = data
        self.kind = kind  # binary | verbatim | plain | template


_JINJA_MARKERS = (b"{{", b"{%", b"{#")


def _kind(
    data: bytes, verbatim: _Globs, rel: str, markers: tuple[bytes, ...] = _JINJA_MARKERS
) -> str:
    if is_binary(data):
        return "binary"
    if verbatim.match(rel):
        return "verbatim"
    # Text without Jinja syntax renders to itself: copy it and skip compiling.
    if not any(marker in data for marker in markers):
        return "plain"
    return "template"


def is_binary(data: bytes) -> bool:
    """Binary: a NUL byte near the start, or bytes that are not UTF-8."""
    if b"\0" in data[:BINARY_SNIFF]:
        return True
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def scan_templates(
    root: str, limits: RenderLimits, *, keep_links: bool = False
) -> tuple[list[_Source], list[str]]:
    """List template files and empty folders under ``root``; refuse links that leave it.

    With ``keep_links`` a link is listed as a link (to a file or a folder alike); where
    its target may point is checked once its name and target are rendered.
    """
    real_root = os.path.realpath(root)
    files: list[_Source] = []
    empty_dirs: list[str] = []
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        path = os.path.join(root, rel_dir) if rel_dir else root
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as exc:
            raise BlueprintError(
                f"cannot read template folder: {exc.strerror}", where=rel_dir or "."
            ) from exc
        if not entries and rel_dir:
            empty_dirs.append(rel_dir)
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_symlink() and keep_links:
                files.append(_Source(rel, entry.path, 0o777, _read_link(entry.path, rel)))
            elif entry.is_symlink():
                target = os.path.realpath(entry.path)
                if not (target == real_root or target.startswith(real_root + os.sep)):
                    raise SecurityError(
                        f"the link {rel!r} points outside the template folder", where=rel
                    )
                if os.path.isdir(target):
                    raise SecurityError(
                        f"the link {rel!r} points to a folder; only file links are followed",
                        where=rel,
                    )
                st = os.stat(target)
                files.append(_Source(rel, target, st.st_mode))
            elif entry.is_dir(follow_symlinks=False):
                stack.append(rel)
            elif entry.is_file(follow_symlinks=False):
                files.append(_Source(rel, entry.path, entry.stat(follow_symlinks=False).st_mode))
            if len(files) > limits.max_files:
                raise ResourceLimitError(f"the template holds more than {limits.max_files} files")
    files.sort(key=lambda s: s.rel)
    return files, empty_dirs


class _Globs:
    def __init__(self, patterns: Sequence[str]) -> None:
        self.spec = None
        if patterns:
            import pathspec

            self.spec = pathspec.GitIgnoreSpec.from_lines(patterns)

    def match(self, rel: str) -> bool:
        return self.spec is not None and self.spec.match_file(rel)


def _read_link(path: str, rel: str) -> str:
    try:
        return os.readlink(path)
    except OSError as exc:
        raise BlueprintError(f"cannot read the link: {exc.strerror}", where=rel) from exc


def link_target(out: str, target: str) -> str:
    """``target`` of the link at ``out``, checked to stay inside the project (POSIX, relative)."""
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(out), target))
    if not target or target.startswith("/") or joined == ".." or joined.startswith("../"):
        raise SecurityError(
            f"the link {out!r} points outside the project ({target!r})",
            where=out,
            hint="a kept link must be relative and stay inside the project",
        )
    return target


class PlanBuilder:
    """Renders a template folder into a :class:`RenderPlan`."""

    def __init__(
        self,
        env: CodeForgeEnvironment,
        limits: RenderLimits,
        *,
        strip_suffix: str = TEMPLATE_SUFFIX,
        suffix_only: bool = False,
        keep_crlf: bool = True,
        copy_fnmatch: Sequence[str] = (),
        keep_links: bool = False,
    ) -> None:
        self.env = env
        self.keep_links = keep_links  # copier's `_preserve_symlinks`
        self.limits = limits
        self._path_templates: dict[str, Any] = {}
        self._memo_context: object = None
        self._memo: dict[str, str] = {}
        # Foreign formats (sources/compat): copier renders only `suffix`-named files and
        # leaves line ends to Jinja; cookiecutter keeps names and copies fnmatch globs.
        self.strip_suffix = strip_suffix
        self.suffix_only = suffix_only
        self.keep_crlf = keep_crlf
        self.copy_fnmatch = tuple(copy_fnmatch)
        starts = (env.variable_start_string, env.block_start_string, env.comment_start_string)
        self._markers = tuple(m.encode() for m in starts)
        self._path_marker = env.variable_start_string[:1] or "{"
        # Options that change text without markers: no plain-copy shortcut then.
        self._always_render = bool(
            env.line_statement_prefix
            or env.line_comment_prefix
            or not env.keep_trailing_newline
            or env.newline_sequence != "\n"
            or not keep_crlf
        )

    def _render_part(self, part: str, context: Mapping[str, Any], origin: str) -> str:
        if self._path_marker not in part and "{" not in part:
            return part
        # Most files share one context: render each distinct part once per context.
        if context is not self._memo_context:
            self._memo_context = context
            self._memo = {}
        cached = self._memo.get(part)
        if cached is not None:
            return cached
        rendered = self._render_part_uncached(part, context, origin)
        self._memo[part] = rendered
        return rendered

    def _render_part_uncached(self, part: str, context: Mapping[str, Any], origin: str) -> str:
        template = self._path_templates.get(part)
        if template is None:
            template = self.env.template_from_source(part, f"{origin} (path)")
            self._path_templates[part] = template
        try:
            return str(template.render(context))
        except Exception as exc:
            raise render_error(exc, f"{origin} (path)") from exc

    def verbatim_depth(self, rel: str) -> int | None:
        """How many leading parts of ``rel`` match a copy-verbatim fnmatch glob, if any."""
        if not self.copy_fnmatch:
            return None
        import fnmatch

        parts = rel.split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if any(fnmatch.fnmatch(prefix, pattern) for pattern in self.copy_fnmatch):
                return depth
        return None

    def render_path(self, rel: str, context: Mapping[str, Any]) -> str | None:
        parts = []
        depth = self.verbatim_depth(rel)
        raw_parts = rel.split("/")
        suffix = self.strip_suffix
        if self.suffix_only and suffix and raw_parts[-1].endswith(suffix):
            # copier drops the suffix before rendering: `{% if x %}a{% endif %}.jinja` -> ''.
            raw_parts[-1] = raw_parts[-1][: -len(suffix)]
            suffix = ""
        for index, part in enumerate(raw_parts):
            # Below a folder copied verbatim (cookiecutter), names are not rendered either.
            if depth is not None and index >= depth:
                parts.append(part)
                continue
            rendered = self._render_part(part, context, rel)
            if not rendered.strip():
                return None  # a part that renders empty drops the file or folder
            parts.append(rendered)
        if (
            suffix
            and not self.suffix_only
            and parts[-1].endswith(suffix)
            and len(parts[-1]) > len(suffix)
        ):
            parts[-1] = parts[-1][: -len(suffix)]
        out = "/".join(parts)
        check_relpath(out, origin=rel)
        return out

    def render_text(self, source: str, context: Mapping[str, Any], origin: str) -> str:
        """One template file rendered (under the environment's budgets)."""
        return self.render_file(source, context, origin).decode("utf-8")

    def render_file(self, source: str, context: Mapping[str, Any], origin: str) -> bytes:
        """One template file rendered to UTF-8 (under the environment's budgets)."""
        template = self.env.template_from_source(source, origin)
        # Jinja writes "\n"; keep the file's own style, judged by its first line
        # (as cookiecutter does).
        first_newline = source.find("\n")
        crlf = self.keep_crlf and first_newline > 0 and source[first_newline - 1] == "\r"
        return self.env.render_bytes(template, context, origin, crlf=crlf)

    def build(
        self,
        root: str,
        context: Mapping[str, Any],
        *,
        exclude: Sequence[str] = (),
        copy_only: Sequence[str] = (),
        skip_if_exists: Sequence[str] = (),
        loops: Sequence[Loop] = (),
        progress: Callable[[int, int], None] | None = None,
        exclude_output: Sequence[str] = (),
    ) -> RenderPlan:
        """Render the template tree at ``root`` into a plan; nothing is written."""
        sources, empty_dirs = scan_templates(root, self.limits, keep_links=self.keep_links)
        excluded = _Globs(exclude)
        excluded_out = _Globs(exclude_output)  # copier matches rendered paths
        suffix = self.strip_suffix
        if self.suffix_only and suffix:
            # copier: `x.jinja` beside a plain `x` wins; the plain one is skipped.
            names = {src.rel for src in sources}
            sources = [src for src in sources if f"{src.rel}{suffix}" not in names]
        verbatim = _Globs(copy_only)
        keep = _Globs(skip_if_exists)
        sources = [s for s in sources if not (_always_excluded(s.rel) or excluded.match(s.rel))]
        items = self._collect_items(sources, context, loops, excluded_out, verbatim)
        self._compile_missing(items)
        plan = RenderPlan(files=[])
        # Pass 2: render (under the operating system's memory cap, where it applies).
        with self.env.data_limit():
            self._render_items(items, plan, keep, progress)
        for rel_dir in empty_dirs:
            if _always_excluded(rel_dir) or excluded.match(rel_dir + "/"):
                continue
            out = self.render_path(rel_dir, context)
            if out is not None and not excluded_out.match(out + "/"):
                plan.directories.append(out)
        return plan

    def _collect_items(
        self,
        sources: list[_Source],
        context: Mapping[str, Any],
        loops: Sequence[Loop],
        excluded_out: _Globs,
        verbatim: _Globs,
    ) -> list[_Item]:
        """Pass 1: output paths, reads and kinds of every item; nothing is rendered yet."""
        loop_by_path = {loop.path: loop for loop in loops}
        seen = PathSet()
        budget = self.env.budget
        items: list[_Item] = []
        for src in sources:
            budget.check_time()
            data: bytes | None = None
            for item_context in self._contexts(context, loop_by_path.get(src.rel), src.rel):
                out = self.render_path(src.rel, item_context)
                if out is None:
                    continue
                if data is None:
                    data = self._read(src) if src.link is None else src.link.encode()
                if excluded_out.match(out):
                    continue
                seen.add(out, src.rel)
                if len(items) >= self.limits.max_files:
                    raise ResourceLimitError(
                        f"the project would have more than {self.limits.max_files} files"
                    )
                items.append(
                    _Item(src, out, item_context, data, self._item_kind(src, data, verbatim))
                )
        return items

    def _compile_missing(self, items: list[_Item]) -> None:
        """Compile every template the cache lacks in one batch (on two cores when worth it)."""
        cache = self.env.code_cache
        if cache is None:
            return
        missing: dict[str, tuple[str, bytes, str]] = {}
        for item in items:
            if item.kind == "template":
                key = cache_key(item.data, item.src.rel)
                if key not in cache and key not in missing:
                    missing[key] = (key, item.data, item.src.rel)
        compile_many(self.env, list(missing.values()))

    def _render_items(
        self,
        items: list[_Item],
        plan: RenderPlan,
        keep: _Globs,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        budget = self.env.budget
        total_bytes = 0
        for index, item in enumerate(items):
            budget.check_time()
            if item.kind == "link":
                plan.add(self._link(item, keep))
                continue
            if item.kind == "template":
                content = self.render_file(item.data.decode("utf-8"), item.context, item.src.rel)
                item.data = b""  # the source is no longer needed: keep memory flat
            else:
                content = item.data
            total_bytes += len(content)
            if total_bytes > self.limits.max_bytes:
                raise ResourceLimitError(f"the project would exceed {self.limits.max_bytes} bytes")
            mode = 0o755 if item.src.mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH) else 0o644
            plan.add(
                PlannedFile(
                    item.out,
                    content,
                    mode,
                    item.kind == "binary",
                    keep.match(item.out),
                    item.src.rel,
                )
            )
            if progress is not None:
                progress(index + 1, len(items))

    def _item_kind(self, src: _Source, data: bytes, verbatim: _Globs) -> str:
        rel = src.rel
        if src.link is not None:
            return "link"
        if self.suffix_only:
            # copier: a file is a template by its name alone.
            if rel.endswith(self.strip_suffix):
                return "template"
            return "binary" if is_binary(data) else "verbatim"
        if self.copy_fnmatch and self.verbatim_depth(rel) is not None:
            return "binary" if is_binary(data) else "verbatim"
        kind = _kind(data, verbatim, rel, self._markers)
        if kind == "plain" and self._always_render:
            return "template"
        return kind

    def _link(self, item: _Item, keep: _Globs) -> PlannedFile:
        """A kept link; as copier does, a ``.jinja``-named link has its target rendered."""
        target = item.data.decode("utf-8", "surrogateescape")
        if self.strip_suffix and item.src.rel.endswith(self.strip_suffix):
            target = self.render_text(target, item.context, item.src.rel)
        target = link_target(item.out, target)
        return PlannedFile(
            item.out, b"", 0o777, False, keep.match(item.out), item.src.rel, link=target
        )

    def _read(self, src: _Source) -> bytes:
        try:
            with open(src.abspath, "rb") as handle:
                # Check the size first: read(limit) would allocate the whole limit up front.
                if os.fstat(handle.fileno()).st_size > self.limits.max_file_bytes:
                    raise ResourceLimitError(
                        f"template file is larger than {self.limits.max_file_bytes} bytes",
                        where=src.rel,
                    )
                data = handle.read()
        except OSError as exc:
            raise BlueprintError(f"cannot read template: {exc.strerror}", where=src.rel) from exc
        if len(data) > self.limits.max_file_bytes:
            raise ResourceLimitError(
                f"template file is larger than {self.limits.max_file_bytes} bytes", where=src.rel
            )
        return data

    def _contexts(
        self, context: Mapping[str, Any], loop: Loop | None, origin: str
    ) -> Iterable[Mapping[str, Any]]:
        if loop is None:
            yield context
            return
        items = context.get(loop.over)
        if not isinstance(items, list):
            raise TemplateError(f"loop over {loop.over!r}: the answer is not a list", where=origin)
        for item in items:
            yield {**context, loop.as_: item}
