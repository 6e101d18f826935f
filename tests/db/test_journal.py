"""The generation journal: durable appends from many processes, claim and replay."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

from codeforge.core import journal
from codeforge.core.records import GenerationRecord

PROCESSES = 6
RECORDS_EACH = 40
URL = "sqlite:////srv/codeforge/codeforge.db"
KEY = journal.StoreKey(journal.store_fingerprint(URL))


def make_record(n: int, **overrides: object) -> GenerationRecord:
    fields: dict[str, object] = {
        "project_name": f"p{n}",
        "path": f"/work/p{n}",
        "blueprint_name": "lib-python",
        "blueprint_version": "1.0.0",
        "blueprint_source": "builtin:lib-python",
        # A long value makes a torn or interleaved line likely if locking were wrong.
        "answers": {"project_name": f"p{n}", "padding": "x" * 5000},
    }
    fields.update(overrides)
    return GenerationRecord(**fields)  # type: ignore[arg-type]


def append_many(data_dir: str, worker: int) -> None:
    """Runs in a child process."""
    for i in range(RECORDS_EACH):
        journal.append(Path(data_dir), make_record(worker * 1000 + i), store_url=URL)


def test_append_then_read_pending(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = journal.append(data_dir, make_record(1), store_url=URL)
    second = journal.append(data_dir, make_record(2, record_id="fixed"), store_url=URL)

    assert first.record_id
    assert second.record_id == "fixed"
    assert journal.read_pending(data_dir) == [first, second]
    lines = (data_dir / journal.JOURNAL_NAME).read_text().splitlines()
    assert [json.loads(line)["record_id"] for line in lines] == [first.record_id, "fixed"]


def test_concurrent_appends_from_processes_lose_nothing(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=append_many, args=(str(tmp_path), w)) for w in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0

    raw_lines = (tmp_path / journal.JOURNAL_NAME).read_text().splitlines()
    assert len(raw_lines) == PROCESSES * RECORDS_EACH
    records = journal.read_pending(tmp_path)
    names = sorted(r.project_name for r in records)
    expected = sorted(f"p{w * 1000 + i}" for w in range(PROCESSES) for i in range(RECORDS_EACH))
    assert names == expected
    assert len({r.record_id for r in records}) == len(records)


def test_claim_drops_lines_only_on_success(tmp_path: Path) -> None:
    records = [journal.append(tmp_path, make_record(n), store_url=URL) for n in range(3)]

    def ingest_and_crash() -> None:
        with journal.claim(tmp_path, KEY) as batch:
            assert batch.records == records
            journal.append(
                tmp_path, make_record(99), store_url=URL
            )  # arrives while the ingest runs
            raise RuntimeError("crash midway")

    with pytest.raises(RuntimeError, match="crash midway"):
        ingest_and_crash()

    pending = journal.read_pending(tmp_path)
    assert [r.project_name for r in pending] == ["p0", "p1", "p2", "p99"]

    with journal.claim(tmp_path, KEY) as batch:
        assert [r.project_name for r in batch.records] == ["p0", "p1", "p2", "p99"]
    assert journal.read_pending(tmp_path) == []
    assert not journal.has_pending(tmp_path, KEY)


def test_a_torn_line_is_set_aside_and_does_not_corrupt_the_next(tmp_path: Path) -> None:
    good = journal.append(tmp_path, make_record(1), store_url=URL)
    with (tmp_path / journal.JOURNAL_NAME).open("ab") as handle:
        handle.write(b'{"project_name": "half-writ')  # a writer killed mid-line
    after = journal.append(tmp_path, make_record(2), store_url=URL)

    assert journal.read_pending(tmp_path) == [good, after]
    with journal.claim(tmp_path, KEY) as batch:
        assert batch.unreadable == 1
        batch.reject(batch.records[0])
    rejected = (tmp_path / journal.REJECTED_NAME).read_text().splitlines()
    assert rejected[0] == '{"project_name": "half-writ'
    assert json.loads(rejected[1])["record_id"] == good.record_id


def test_journal_module_does_not_import_sqlalchemy() -> None:
    code = (
        "import sys, codeforge.core.journal\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("postgresql+psycopg://u:pw@DB.example:5432/app", "postgresql://other@db.example/app"),
        ("postgresql+psycopg://h/app?sslmode=require", "postgresql://h/app?sslmode=require"),
        ("sqlite:////srv/a/../a/codeforge.db", "sqlite:////srv/a/codeforge.db"),
    ],
)
def test_one_database_has_one_fingerprint(one: str, other: str) -> None:
    """Driver, credentials, a default port and case of the host do not change the database."""
    assert journal.store_fingerprint(one) == journal.store_fingerprint(other)


@pytest.mark.parametrize(
    "other",
    [
        "postgresql://h/other",
        "postgresql://h:5433/app",
        "postgresql://g/app",
        "postgresql://h/app?options=-csearch_path%3Dt1",
        "sqlite:////srv/h/app",
    ],
)
def test_another_database_has_another_fingerprint(other: str) -> None:
    assert journal.store_fingerprint("postgresql://h/app") != journal.store_fingerprint(other)


def test_a_line_keeps_no_credential(tmp_path: Path) -> None:
    url = "postgresql+psycopg://admin:s3cr3t-Pa55@db.example/app"
    journal.append(tmp_path, make_record(1), store_url=url)
    text = (tmp_path / journal.JOURNAL_NAME).read_text()
    assert "s3cr3t" not in text and "admin" not in text and "db.example" not in text
    assert json.loads(text)["store"] == journal.store_fingerprint(url)


def test_a_store_claims_only_its_own_lines(tmp_path: Path) -> None:
    other_url = "postgresql://db.example/app"
    other = journal.StoreKey(journal.store_fingerprint(other_url))
    mine = journal.append(tmp_path, make_record(1), store_url=URL)
    theirs = journal.append(tmp_path, make_record(2), store_url=other_url)
    with (tmp_path / journal.JOURNAL_NAME).open("ab") as handle:
        # a line from before lines were tagged: the data dir's SQLite store's
        handle.write(journal.encode(make_record(3, record_id="old"), None))
    default = journal.StoreKey(journal.store_fingerprint(URL), untagged=True)

    assert journal.has_pending(tmp_path, other)
    with journal.claim(tmp_path, default) as batch:
        assert [r.record_id for r in batch.records] == [mine.record_id, "old"]
    assert journal.read_pending(tmp_path) == [theirs]
    assert not journal.has_pending(tmp_path, default)
    assert journal.has_pending(tmp_path, other)

    # a failed ingest by the other store keeps its lines, and still leaves none of the default's
    journal.append(tmp_path, make_record(4), store_url=URL)

    def failed_ingest() -> None:
        with journal.claim(tmp_path, other) as batch:
            assert batch.records == [theirs]
            raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        failed_ingest()
    with journal.claim(tmp_path, other) as batch:
        assert batch.records == [theirs]
    assert [r.project_name for r in journal.read_pending(tmp_path)] == ["p4"]
