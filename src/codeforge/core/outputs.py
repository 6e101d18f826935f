"""Where a plan goes and who hears about it: the Sink and Recorder protocols.

A :class:`Sink` delivers a :class:`~codeforge.core.plan.RenderPlan`: into a
folder (atomically, :class:`DirectoryOutput`), as a zip stream
(:class:`ZipOutput`), or only as a report of what would happen
(:class:`DryRunOutput`). A sink that commits the plan to a git branch (an update
as a pull request) fits the same shape: ``post`` runs in its work tree before
the commit, and :class:`Delivery` carries the commit. A :class:`Recorder` is
told of each generation (the CLI's and servers' project store).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

from codeforge.core.plan import RenderPlan
from codeforge.core.records import GenerationRecord
from codeforge.core.sinks import DirectorySink, ReportEntry, WriteResult, dry_run_report, write_zip
from codeforge.core.transaction import Recovery

PostWrite = Callable[[Path], None]  # runs in the staging folder (tasks, hooks, git init)


class Delivery:
    """What a sink did with a plan (a plain class: a dataclass costs every run at import)."""

    def __init__(
        self,
        written: WriteResult | None = None,
        report: list[ReportEntry] | None = None,
        recovered: Recovery | None = None,
        commit: str | None = None,
    ) -> None:
        self.written = written  # files written (None: nothing was)
        self.report: list[ReportEntry] = [] if report is None else report  # a dry run's
        self.recovered = recovered  # an interrupted earlier write, resolved first
        self.commit = commit  # a sink that commits (a git branch)


class Sink(Protocol):
    """Delivers a plan; ``post`` (when the sink has a staging folder) runs there first."""

    def deliver(self, plan: RenderPlan, post: PostWrite | None = None) -> Delivery:
        """Deliver ``plan``: all of it, or nothing."""
        ...


class Recorder(Protocol):
    """Hears of every generation (init, generate, update) once its files are in place."""

    def __call__(self, record: GenerationRecord, /) -> None: ...


class DirectoryOutput:
    """Into a folder, atomically and crash-safely (:class:`~codeforge.core.sinks.DirectorySink`)."""

    def __init__(self, destination: Path, *, force: bool = False, operation: str = "init") -> None:
        self.sink = DirectorySink(destination, force=force, operation=operation)

    def deliver(self, plan: RenderPlan, post: PostWrite | None = None) -> Delivery:
        """Write the plan; the recovery of an interrupted earlier write is reported either way."""
        delivery = Delivery()
        try:
            delivery.written = self.sink.write(plan, post=post)
        finally:
            delivery.recovered = self.sink.recovered
        return delivery


class DryRunOutput:
    """Nothing written: what writing into ``destination`` would do, after the same checks."""

    def __init__(self, destination: Path, *, force: bool = False) -> None:
        self.sink = DirectorySink(destination, force=force)

    def deliver(self, plan: RenderPlan, post: PostWrite | None = None) -> Delivery:
        """The report; ``post`` never runs (nothing is staged)."""
        self.sink.check()
        report = dry_run_report(plan, self.sink.destination)
        return Delivery(report=report, recovered=self.sink.recovered)


class ZipOutput:
    """A zip archive streamed to ``stream`` (fixed timestamps: equal plans, equal bytes)."""

    def __init__(self, stream: IO[bytes], prefix: str = "") -> None:
        self.stream = stream
        self.prefix = prefix

    def deliver(self, plan: RenderPlan, post: PostWrite | None = None) -> Delivery:
        """Stream the archive; ``post`` never runs (there is no folder to run it in)."""
        write_zip(plan, self.stream, self.prefix)
        return Delivery()
