"""The code Jinja generates for CodeForge's sandbox: every allocation reaches the meter."""

from __future__ import annotations

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame


class MeteredCodeGenerator(CodeGenerator):
    """Jinja's code generator, with ``~`` and slices routed through the environment.

    ``~`` compiles to calls of ``str_join``/``markup_join``, module globals of the
    generated code; rebinding them at the end of the module sends them to the
    environment (functions look globals up when they run). Jinja compiles
    ``x[a:b]`` to a plain subscript that bypasses the sandbox's ``getitem``;
    here it goes through it, so a copy made by slicing is metered too.
    """

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        super().visit_Template(node, frame)
        self.writeline("str_join = environment.str_join")
        self.writeline("markup_join = environment.markup_join")

    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        if not isinstance(node.arg, nodes.Slice):
            super().visit_Getitem(node, frame)
            return
        self.write("environment.getitem(")
        self.visit(node.node, frame)
        self.write(", slice(")
        for index, part in enumerate((node.arg.start, node.arg.stop, node.arg.step)):
            self.write(", " if index else "")
            if part is None:
                self.write("None")
            else:
                self.visit(part, frame)
        self.write("))")
