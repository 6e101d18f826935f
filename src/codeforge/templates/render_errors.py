"""Errors raised while a template renders, as CodeForge errors naming file and line."""

from __future__ import annotations

import jinja2

from codeforge.errors import ResourceLimitError, SecurityError, TemplateError


def render_error(exc: BaseException, name: str) -> TemplateError:
    """Turn a Jinja or Python error raised while rendering ``name`` into a TemplateError."""
    if isinstance(exc, TemplateError | SecurityError):
        if exc.where is None:
            exc.where = name
        return exc if isinstance(exc, TemplateError) else TemplateError(str(exc), where=name)
    if isinstance(exc, jinja2.TemplateSyntaxError):  # in an included or imported template
        return TemplateError(
            f"syntax error: {exc.message}", where=f"{exc.name or name}:{exc.lineno}"
        )
    line = template_line(exc, name)
    location = f"{name}:{line}" if line else name
    if isinstance(exc, jinja2.UndefinedError):
        return TemplateError(f"undefined variable: {exc.message}", where=location)
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return TemplateError(f"blocked by the sandbox: {exc}", where=location)
    if isinstance(exc, RecursionError):
        return ResourceLimitError("recursion too deep", where=location)
    if isinstance(exc, MemoryError):
        # Only under the operating system's cap (templates.budget): the render
        # tried to grow past render.max_memory by a path the meter does not see.
        return ResourceLimitError(
            "the render ran out of memory (the limit is render.max_memory)", where=location
        )
    if isinstance(exc, OverflowError):
        return ResourceLimitError(
            f"the render ran out of bounds: {type(exc).__name__}", where=location
        )
    if isinstance(exc, jinja2.TemplateError):
        return TemplateError(str(exc.message or exc), where=location)
    return TemplateError(f"{type(exc).__name__}: {exc}", where=location)


def template_line(exc: BaseException, name: str) -> int | None:
    """The line of template ``name`` that ``exc`` was raised on, if its traceback shows it."""
    lineno = getattr(exc, "lineno", None)
    if isinstance(lineno, int) and getattr(exc, "name", None) in (name, None):
        return lineno
    tb = exc.__traceback__
    line = None
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_filename == name and "__jinja_template__" in frame.f_globals:
            template = frame.f_globals.get("__jinja_template__")
            if template is not None:
                line = template.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    return line
