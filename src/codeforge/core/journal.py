"""A durable, append-only journal of generation records (``journal.jsonl``).

``codeforge init`` is a hot path that must not import SQLAlchemy, so it appends its
record here; the project store ingests the journal on its next read. Standard
library only.

Each line belongs to the database it was written for: it carries ``store``, a
fingerprint of that database's URL (a hash, so no credential is kept), and only a
store with the same fingerprint ingests it. Lines of other stores stay in the
journal for their own store, so configuring another database never moves records
into it. Lines without a tag (written before tags existed, always for the data
dir's SQLite file) belong to that SQLite store.

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
import hashlib
import json
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, NamedTuple

from codeforge.core.records import GenerationRecord
from codeforge.errors import StoreError

JOURNAL_NAME: Final = "journal.jsonl"
INGESTING_NAME: Final = "journal.ingesting.jsonl"
REJECTED_NAME: Final = "journal.rejected.jsonl"
LOCK_NAME: Final = "journal.lock"
INGEST_LOCK_NAME: Final = "journal.ingest.lock"


_DEFAULT_PORTS: Final = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}


def journal_path(data_dir: Path) -> Path:
    return Path(data_dir) / JOURNAL_NAME


def store_fingerprint(url: str) -> str:
    """Which database ``url`` names, as a short hash without credentials.

    The driver, user, password and a default port do not count: they change how
    one connects, not which database it is. A SQLite file counts by its real path.
    """
    parts = urllib.parse.urlsplit(url)
    backend = parts.scheme.split("+", 1)[0].lower()
    if backend == "sqlite":
        path = url.split(":///", 1)[1].split("?", 1)[0] if ":///" in url else ""
        identity = f"sqlite:{os.path.realpath(path) if path not in ('', ':memory:') else path}"
    else:
        port = parts.port or _DEFAULT_PORTS.get(backend)
        query = sorted(
            (key, value)
            for key, value in urllib.parse.parse_qsl(parts.query)
            if key.lower() not in ("password", "user", "sslpassword")
        )
        host = (parts.hostname or "").lower()
        identity = f"{backend}://{host}:{port}/{parts.path.lstrip('/')}?{query}"
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


class StoreKey(NamedTuple):
    """The lines one store ingests: its fingerprint's, and untagged ones for the default."""

    fingerprint: str
    untagged: bool = False  # the data dir's SQLite store also takes lines without a tag

    @classmethod
    def for_url(cls, url: str, default_url: str) -> StoreKey:
        """The key of the store at ``url``, where ``default_url`` is the data dir's SQLite file."""
        mine = store_fingerprint(url)
        return cls(mine, untagged=mine == store_fingerprint(default_url))

    def owns(self, line: JournalLine) -> bool:
        return line.store == self.fingerprint or (line.store is None and self.untagged)


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


def encode(record: GenerationRecord, store: str | None) -> bytes:
    """One journal line for ``record``, meant for the store with fingerprint ``store``."""
    data = record.to_json()
    if store is not None:
        data["store"] = store
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"


def append(data_dir: Path, record: GenerationRecord, *, store_url: str) -> GenerationRecord:
    """Append ``record`` durably for the database at ``store_url``; returns it.

    A record without ``record_id`` gets one.
    """
    if not record.record_id:
        record = dataclasses.replace(record, record_id=os.urandom(16).hex())
    data_dir = Path(data_dir)
    line = encode(record, store_fingerprint(store_url))
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


class JournalLine(NamedTuple):
    """One line of the journal: a record, or the raw text when it could not be read."""

    raw: bytes
    record: GenerationRecord | None
    error: str | None = None
    store: str | None = None  # the fingerprint of the database it is for (None: untagged)


def _parse(raw: bytes) -> JournalLine:
    try:
        data: Any = json.loads(raw)
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        store = data.pop("store", None)
        if store is not None and not isinstance(store, str):
            raise TypeError("'store' is not a string")
        return JournalLine(raw, GenerationRecord.from_json(data), store=store)
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


def has_pending(data_dir: Path, key: StoreKey | None = None) -> bool:
    """Whether an ingest (by the store ``key``, else by any) has anything to do.

    Without lines two stats answer; with lines, those are read, since lines of
    other stores may wait there for a long time.
    """
    data_dir = Path(data_dir)
    names = [
        name
        for name in (INGESTING_NAME, JOURNAL_NAME)
        if (data_dir / name).exists() and (data_dir / name).stat().st_size > 0
    ]
    if key is None or not names:
        return bool(names)
    return any(
        line.record is None or key.owns(line)
        for name in names
        for line in _read_lines(data_dir / name)
    )


class Batch:
    """The lines claimed by one ingest (see :func:`claim`): its store's and unreadable ones."""

    def __init__(self, data_dir: Path, lines: list[JournalLine], key: StoreKey) -> None:
        self.data_dir = data_dir
        self.lines = [line for line in lines if line.record is None or key.owns(line)]
        self._rejected: list[bytes] = [line.raw for line in self.lines if line.record is None]
        # Other stores' lines go back to the journal, once each, in their order.
        others = (line.raw for line in lines if line.record is not None and not key.owns(line))
        self._others = list(dict.fromkeys(others))

    @property
    def records(self) -> list[GenerationRecord]:
        return [line.record for line in self.lines if line.record is not None]

    @property
    def unreadable(self) -> int:
        return sum(1 for line in self.lines if line.record is None)

    def reject(self, record: GenerationRecord) -> None:
        """Set a record aside (kept in ``journal.rejected.jsonl``) instead of retrying it."""
        self._rejected.append(encode(record, None).rstrip(b"\n"))

    def _finish(self) -> None:
        if self._rejected:
            _append_bytes(
                self.data_dir / REJECTED_NAME, b"".join(raw + b"\n" for raw in self._rejected)
            )
        if self._others:
            # Back before the claim goes: a crash in between repeats lines (harmless,
            # ingesting is idempotent) and never loses one.
            with _flock(self.data_dir / LOCK_NAME):
                _append_bytes(
                    journal_path(self.data_dir), b"".join(raw + b"\n" for raw in self._others)
                )
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / INGESTING_NAME).unlink()
        _fsync_dir(self.data_dir)


@contextlib.contextmanager
def claim(data_dir: Path, key: StoreKey) -> Iterator[Batch]:
    """Claim the pending lines of the store ``key``; they are dropped only on a clean exit.

    Appenders are blocked just long enough to move ``journal.jsonl`` aside. If the
    body raises (or the process dies), the claimed lines stay in
    ``journal.ingesting.jsonl`` and the next ``claim`` yields them again. Lines of
    other stores go back to ``journal.jsonl`` untouched.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    # One ingest at a time, so no ingest can remove lines another has not finished.
    with _flock(data_dir / INGEST_LOCK_NAME):
        _move_journal_aside(data_dir)
        batch = Batch(data_dir, _read_lines(data_dir / INGESTING_NAME), key)
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
