"""A durable, append-only journal of generation records (``journal.jsonl``).

``codeforge init`` is a hot path that must not import SQLAlchemy, so it appends its
record here; the project store ingests the journal on its next read. Standard
library only.

Files in the data dir:

- ``journal.jsonl``: records waiting to be ingested, one JSON object a line.
- ``journal.ingesting.jsonl``: records claimed by an ingest that has not finished.
  A crash leaves it in place and the next ingest starts from it again; ingesting is
  idempotent by ``record_id``, so doing a record twice is harmless.
- ``journal.rejected.jsonl``: lines that could not be read or ingested, kept for a human.
- ``journal.lock`` / ``journal.ingest.lock``: ``flock`` targets. They are never
  renamed, so every process locks the same file whatever happens to the journal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from codeforge.core.errors import StoreError
from codeforge.core.records import GenerationRecord

JOURNAL_NAME: Final = "journal.jsonl"
INGESTING_NAME: Final = "journal.ingesting.jsonl"
REJECTED_NAME: Final = "journal.rejected.jsonl"
LOCK_NAME: Final = "journal.lock"
INGEST_LOCK_NAME: Final = "journal.ingest.lock"


def journal_path(data_dir: Path) -> Path:
    return Path(data_dir) / JOURNAL_NAME


@contextlib.contextmanager
def _flock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _append_bytes(path: Path, data: bytes) -> None:
    """Append ``data`` durably; the caller holds the journal lock."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        # A writer killed mid-line leaves no newline; start on a fresh line so the torn
        # line stays alone (and is rejected) instead of corrupting this record too.
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def encode(record: GenerationRecord) -> bytes:
    """One journal line for ``record``."""
    text = json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"


def append(data_dir: Path, record: GenerationRecord) -> GenerationRecord:
    """Append ``record`` durably; a record without ``record_id`` gets one. Returns it."""
    if not record.record_id:
        record = dataclasses.replace(record, record_id=os.urandom(16).hex())
    data_dir = Path(data_dir)
    line = encode(record)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        new_file = not journal_path(data_dir).exists()
        with _flock(data_dir / LOCK_NAME):
            _append_bytes(journal_path(data_dir), line)
        if new_file:
            _fsync_dir(data_dir)  # make the file's directory entry durable too
    except OSError as exc:
        raise StoreError(
            f"cannot write the journal: {exc.strerror or exc}", where=str(journal_path(data_dir))
        ) from exc
    return record


@dataclasses.dataclass(frozen=True, slots=True)
class JournalLine:
    """One line of the journal: a record, or the raw text when it could not be read."""

    raw: bytes
    record: GenerationRecord | None
    error: str | None = None


def _parse(raw: bytes) -> JournalLine:
    try:
        data: Any = json.loads(raw)
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        return JournalLine(raw, GenerationRecord.from_json(data))
    except (ValueError, TypeError, KeyError) as exc:
        return JournalLine(raw, None, f"{type(exc).__name__}: {exc}")


def _read_lines(path: Path) -> list[JournalLine]:
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return []
    return [_parse(raw) for raw in content.split(b"\n") if raw.strip()]


def read_pending(data_dir: Path) -> list[GenerationRecord]:
    """Every readable record not yet ingested, oldest first (claimed ones included)."""
    data_dir = Path(data_dir)
    lines = _read_lines(data_dir / INGESTING_NAME) + _read_lines(journal_path(data_dir))
    return [line.record for line in lines if line.record is not None]


def has_pending(data_dir: Path) -> bool:
    """Cheap check (two stats) for whether an ingest has anything to do."""
    data_dir = Path(data_dir)
    return any(
        (data_dir / name).exists() and (data_dir / name).stat().st_size > 0
        for name in (INGESTING_NAME, JOURNAL_NAME)
    )


class Batch:
    """The lines claimed by one ingest (see :func:`claim`)."""

    def __init__(self, data_dir: Path, lines: list[JournalLine]) -> None:
        self.data_dir = data_dir
        self.lines = lines
        self._rejected: list[bytes] = [line.raw for line in lines if line.record is None]

    @property
    def records(self) -> list[GenerationRecord]:
        return [line.record for line in self.lines if line.record is not None]

    @property
    def unreadable(self) -> int:
        return sum(1 for line in self.lines if line.record is None)

    def reject(self, record: GenerationRecord) -> None:
        """Set a record aside (kept in ``journal.rejected.jsonl``) instead of retrying it."""
        self._rejected.append(encode(record).rstrip(b"\n"))

    def _finish(self) -> None:
        if self._rejected:
            _append_bytes(
                self.data_dir / REJECTED_NAME, b"".join(raw + b"\n" for raw in self._rejected)
            )
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / INGESTING_NAME).unlink()
        _fsync_dir(self.data_dir)


@contextlib.contextmanager
def claim(data_dir: Path) -> Iterator[Batch]:
    """Claim every pending line for ingesting; they are dropped only on a clean exit.

    Appenders are blocked just long enough to move ``journal.jsonl`` aside. If the
    body raises (or the process dies), the claimed lines stay in
    ``journal.ingesting.jsonl`` and the next ``claim`` yields them again.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    # One ingest at a time, so no ingest can remove lines another has not finished.
    with _flock(data_dir / INGEST_LOCK_NAME):
        _move_journal_aside(data_dir)
        batch = Batch(data_dir, _read_lines(data_dir / INGESTING_NAME))
        yield batch
        batch._finish()


def _move_journal_aside(data_dir: Path) -> None:
    journal = journal_path(data_dir)
    ingesting = data_dir / INGESTING_NAME
    with _flock(data_dir / LOCK_NAME):
        if not journal.exists():
            return
        if not ingesting.exists():
            os.replace(journal, ingesting)  # atomic: every line moves, or none
        else:
            # A previous ingest died: add the new lines after the claimed ones. A crash
            # between these two steps duplicates lines, which ingesting shrugs off.
            _append_bytes(ingesting, journal.read_bytes())
            journal.unlink()
        _fsync_dir(data_dir)
