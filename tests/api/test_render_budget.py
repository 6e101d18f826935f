"""A blueprint uploaded by a maintainer cannot make a generate request use unbounded memory."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from .conftest import Api

V1 = "/api/v1"
BUDGET = 32 * 1024 * 1024
_BIG = "{% set big = 'x' * 1000000 %}"
BOMBS = {
    "issue-join": "{{ (['x' * 1000000] * 300) | join | length }}",
    "issue-namespace-doubling": (
        "{% set ns = namespace(s='x' * 1000000) %}{% for i in range(8) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}"
    ),
    "percent": _BIG + "{{ ('%s' * 300) % ((big,) * 300) }}",
    "tojson": _BIG + "{{ ([big] * 300) | tojson }}",
    "str-format": _BIG + "{{ ('{0}' * 300).format(big) }}",
    "list-growth": _BIG
    + "{% set l = [] %}{% for i in range(400) %}{% set _ = l.append(big ~ i) %}{% endfor %}",
}


@pytest.fixture
def small_budget(isolated_dirs: dict[str, Path]) -> None:
    """The servers' config sets render.max_memory (read when the app is built)."""
    isolated_dirs["config"].mkdir(parents=True, exist_ok=True)
    (isolated_dirs["config"] / "config.toml").write_text(f"[render]\nmax_memory = {BUDGET}\n")


def _archive(case: str) -> bytes:
    files = {
        "blueprint.yaml": f"name: bomb-{case}\nversion: 1.0.0\n",
        "template/README.md": "fine {{ project_name }}\n",
        "template/bomb.txt": BOMBS[case],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(f"bomb-main/{name}", text)
    return buffer.getvalue()


@pytest.mark.parametrize("case", sorted(BOMBS))
def test_generate_answers_422_naming_the_limit(small_budget: None, api: Api, case: str) -> None:
    upload = api.as_(
        api.maya,
        "POST",
        f"{V1}/blueprints/upload",
        files={"archive": ("bp.zip", _archive(case), "application/octet-stream")},
    )
    assert upload.status_code == 201, upload.text
    response = api.as_(
        api.alice, "POST", f"{V1}/projects/generate", json={"template": f"bomb-{case}", "name": "p"}
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "resource_limit"
    assert "render.max_memory" in body["message"]
    assert body["where"].startswith("bomb.txt")
