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
        journal.append(Path(data_dir), make_record(worker * 1000 + i))


def test_append_then_read_pending(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = journal.append(data_dir, make_record(1))
    second = journal.append(data_dir, make_record(2, record_id="fixed"))

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
    records = [journal.append(tmp_path, make_record(n)) for n in range(3)]

    def ingest_and_crash() -> None:
        with journal.claim(tmp_path) as batch:
            assert batch.records == records
            journal.append(tmp_path, make_record(99))  # arrives while the ingest runs
            raise RuntimeError("crash midway")

    with pytest.raises(RuntimeError, match="crash midway"):
        ingest_and_crash()

    pending = journal.read_pending(tmp_path)
    assert [r.project_name for r in pending] == ["p0", "p1", "p2", "p99"]

    with journal.claim(tmp_path) as batch:
        assert [r.project_name for r in batch.records] == ["p0", "p1", "p2", "p99"]
    assert journal.read_pending(tmp_path) == []
    assert not journal.has_pending(tmp_path)


def test_a_torn_line_is_set_aside_and_does_not_corrupt_the_next(tmp_path: Path) -> None:
    good = journal.append(tmp_path, make_record(1))
    with (tmp_path / journal.JOURNAL_NAME).open("ab") as handle:
        handle.write(b'{"project_name": "half-writ')  # a writer killed mid-line
    after = journal.append(tmp_path, make_record(2))

    assert journal.read_pending(tmp_path) == [good, after]
    with journal.claim(tmp_path) as batch:
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
