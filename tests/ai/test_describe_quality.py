"""Describe's answers on web-fastapi against a labelled set, on the real 0.5B model.

tests/ai/fixtures/describe_fastapi.yaml: ``cases`` (12, the focused prompt was
tuned on them) and ``heldout`` (8, written afterwards, never tuned on). A field
counts as right when the final value (the model's, or the default when it gave
none) equals the expected one; variables a description does not mention are
expected to keep their defaults. Figures are in docs/ai.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from codeforge.ai.bridge import check_answers, entry_from_blueprint
from codeforge.ai.describe import askable, fill_answers
from codeforge.ai.provider import Provider
from codeforge.app.context import local_engine
from codeforge.core.answers import Evaluator, resolve_answers
from codeforge.settings import load_settings

from .conftest import FIXTURES, require_extras

require_extras()

LABELLED = yaml.safe_load((FIXTURES / "describe_fastapi.yaml").read_text(encoding="utf-8"))


def score(qwen: Provider, cases: list[dict[str, Any]]) -> tuple[float, float]:
    """(accuracy on the mentioned fields, accuracy on every askable field)."""
    engine = local_engine(load_settings())
    bp = next(b for b in engine.load_blueprints() if b.name == LABELLED["blueprint"])
    entry = entry_from_blueprint(bp)
    fields = [v.name for v in entry.variables if askable(v)]
    env = engine.environment(bp.template_root)
    defaults = resolve_answers(
        bp.variables, Evaluator(env), base=engine.base_context("project"), explicit={}
    )
    mentioned = right_mentioned = total = right = 0
    for case in cases:
        answers = fill_answers(qwen, case["description"], entry)
        checked = check_answers(engine, bp, answers)
        assert checked.dropped == {}, case["description"]  # structure: all valid as given
        for name in fields:
            ok = checked.answers.get(name, defaults[name]) == case["expected"].get(
                name, defaults[name]
            )
            total += 1
            right += ok
            if name in case["expected"]:
                mentioned += 1
                right_mentioned += ok
    return right_mentioned / mentioned, right / total


@pytest.mark.parametrize(("section", "floor"), [("cases", 0.85), ("heldout", 0.8)])
def test_describe_accuracy(qwen: Provider, section: str, floor: float, ai_cache: Path) -> None:
    assert len(LABELLED[section]) >= 8
    on_mentioned, on_all = score(qwen, LABELLED[section])
    print(f"{section}: mentioned {on_mentioned:.1%}, all fields {on_all:.1%}")
    assert on_mentioned >= floor
    assert on_all >= 0.9
