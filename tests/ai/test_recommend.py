from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from codeforge.ai.catalog import CatalogEntry, content_hash, load_catalog
from codeforge.ai.recommend import Recommender, recommend

from .conftest import FIXTURES, require_extras

require_extras()

LABELLED: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "labelled.yaml").read_text())


def _accuracy(rec: Recommender, catalog: list[CatalogEntry]) -> tuple[float, float]:
    top1 = top3 = 0
    for item in LABELLED:
        names = [r.name for r in rec.rank(item["text"], catalog, top=3)]
        top1 += names[:1] == [item["expected"]]
        top3 += item["expected"] in names
    return top1 / len(LABELLED), top3 / len(LABELLED)


def test_fixture_sizes(catalog: list[CatalogEntry]) -> None:
    assert len(catalog) >= 15
    assert len(LABELLED) >= 40
    assert {i["expected"] for i in LABELLED} <= {bp.name for bp in catalog}


@pytest.mark.parametrize(
    ("method", "weight", "min_top1", "min_top3"),
    [
        ("embedding", 0.1, 0.80, 0.95),  # what ships
        ("embedding", 0.0, 0.80, 0.95),  # embeddings alone
        ("lexical", 0.0, 0.70, 0.90),  # the fallback without the extra
    ],
)
def test_quality_on_the_labelled_set(
    catalog: list[CatalogEntry], ai_cache: Path, method: str, weight: float, min_top1: float,
    min_top3: float,
) -> None:  # fmt: skip
    rec = Recommender(ai_cache, method=method, lexical_weight=weight)  # type: ignore[arg-type]
    top1, top3 = _accuracy(rec, catalog)
    print(f"{method} w={weight}: top-1 {top1:.1%}, top-3 {top3:.1%}")
    assert top1 >= min_top1
    assert top3 >= min_top3


def test_results_carry_score_and_reason(catalog: list[CatalogEntry], ai_cache: Path) -> None:
    results = recommend("a REST API in Python with PostgreSQL", catalog, top=3, cache=ai_cache)
    assert results[0].name == "python-fastapi"
    assert results[0].score >= results[1].score >= results[2].score
    assert all(r.reason and "\n" not in r.reason for r in results)
    assert "postgresql" in results[0].reason


def test_blueprint_vectors_are_cached_by_content(
    catalog: list[CatalogEntry], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Recommender(tmp_path)
    first.rank("python web api", catalog)
    files = list((tmp_path / "embeddings").rglob("*.json"))
    assert {f.stem for f in files} == {content_hash(bp) for bp in catalog}

    second = Recommender(tmp_path)
    assert second.embedder is not None
    calls: list[int] = []
    original = second.embedder.embed

    def counting(texts: list[str]) -> Any:
        calls.append(len(texts))
        return original(texts)

    monkeypatch.setattr(second.embedder, "embed", counting)
    second.rank("python web api", catalog)
    assert calls == [1]  # only the query


def test_changed_blueprint_is_re_embedded(tmp_path: Path) -> None:
    folder = tmp_path / "bp"
    (folder / "one").mkdir(parents=True)
    (folder / "one" / "blueprint.yaml").write_text("name: one\nversion: 1.0.0\ndescription: a\n")
    rec = Recommender(tmp_path / "cache")
    rec.rank("x", load_catalog([folder]))
    (folder / "one" / "blueprint.yaml").write_text("name: one\nversion: 1.0.0\ndescription: b\n")
    rec.rank("x", load_catalog([folder]))
    assert len(list((tmp_path / "cache" / "embeddings").rglob("*.json"))) == 2


def test_empty_inputs(catalog: list[CatalogEntry]) -> None:
    assert recommend("   ", catalog, method="lexical") == []
    assert recommend("python", [], method="lexical") == []
