"""How a finished or failed ``update`` job becomes a fleet row (``codeforge.app.fleet_queue``)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest

from codeforge.app.fleet import FleetEntry
from codeforge.app.fleet_queue import MAX_KEY_LENGTH, Owner, Target, idempotency_key, outcome_of

TARGET = Target(
    FleetEntry(7, "shop", "api:abc/shop", "shelf-bp", "1.0.0", "1.1.0", True, None, None),
    Owner(3, "maya", "maintainer"),
)
CHANGED = {"from_version": "1.0.0", "to_version": "1.1.0", "changed": ["README.md"]}


def job(status: str, result: dict[str, Any] | None = None, **kw: Any) -> Any:
    return SimpleNamespace(status=status, result=result, error=kw.get("error"),
                           error_kind=kw.get("kind"))  # fmt: skip


@pytest.mark.parametrize(
    ("result", "status", "pull", "conflicts"),
    [
        ({**CHANGED, "conflicts": []}, "updated", None, ()),
        ({**CHANGED, "conflicts": ["README.md"]}, "conflicts", None, ("README.md",)),
        ({**CHANGED, "changed": [], "conflicts": []}, "up-to-date", None, ()),
        ({**CHANGED, "conflicts": [], "pull": {"action": "opened", "url": "u/1"}},
         "pr-opened", "u/1", ()),
        ({**CHANGED, "conflicts": ["a"], "pull": {"action": "updated", "url": "u/1"}},
         "pr-updated", "u/1", ("a",)),
        ({**CHANGED, "conflicts": [], "pull": {"action": "unchanged", "url": "u/1"}},
         "pr-unchanged", "u/1", ()),
        ({**CHANGED, "conflicts": [], "pull": {"action": "up-to-date", "url": None}},
         "up-to-date", None, ()),
    ],
)  # fmt: skip
def test_a_finished_job_shows_as_the_in_process_row(
    result: dict[str, Any], status: str, pull: str | None, conflicts: tuple[str, ...]
) -> None:
    row = outcome_of(TARGET, job("finished", result))
    assert (row.id, row.name, row.path) == (7, "shop", "api:abc/shop")
    assert (row.status, row.pull, row.conflicts) == (status, pull, conflicts)
    assert (row.from_version, row.to_version, row.error) == ("1.0.0", "1.1.0", None)


@pytest.mark.parametrize(
    ("kind", "code"), [("not_found", 8), ("conflict", 4), ("credentials", 15), ("timeout", 1)]
)
def test_a_failed_job_keeps_its_error_and_the_exit_code_of_its_kind(kind: str, code: int) -> None:
    row = outcome_of(TARGET, job("failed", error="no such thing", kind=kind))
    assert (row.status, row.error, row.exit_code) == ("failed", "no such thing", code)


def test_a_job_whose_record_is_gone_is_failed() -> None:
    row = outcome_of(TARGET, None)
    assert row.status == "failed" and "gone" in (row.error or "")


def test_the_idempotency_key_is_one_per_project_target_version_and_mode() -> None:
    entry = TARGET.entry
    assert idempotency_key(entry, pr=False) == "fleet-update:7:1.1.0:merge"
    assert idempotency_key(entry, pr=True) == "fleet-update:7:1.1.0:pr"
    newer = dataclasses.replace(entry, latest="1.2.0")
    other = dataclasses.replace(entry, id=8)
    keys = {idempotency_key(e, pr) for e in (entry, newer, other) for pr in (False, True)}
    assert len(keys) == 6
    long_a = dataclasses.replace(entry, latest="1.0.0-" + "a" * 300)
    long_b = dataclasses.replace(entry, latest="1.0.0-" + "a" * 299 + "b")
    made = {idempotency_key(long_a, pr=False), idempotency_key(long_b, pr=False)}
    assert len(made) == 2 and all(len(k) <= MAX_KEY_LENGTH for k in made)
