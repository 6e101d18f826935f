"""Surface 4: blueprint files load safely; keys that point at files stay in the blueprint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from codeforge.core.engine import SDLCEngine
from codeforge.errors import BlueprintError


def test_python_object_tag_is_refused_through_the_engine(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    text = f"name: x\nversion: 1.0.0\ndescription: !!python/object/apply:os.system ['touch {marker}']\n"
    bp = blueprint(text)
    with pytest.raises(BlueprintError, match="invalid YAML") as info:
        engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert info.value.where == "blueprint.yaml:3"
    assert not marker.exists()
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("fmt", ["yaml", "toml"])
@pytest.mark.parametrize(
    "definition",
    [
        {"template_dir": "../x"},
        {"template_dir": "/etc"},
        {"gitignore": "../../home/.gitignore"},
        {"components": {"c": {"template_dir": "../c"}}},
        {
            "components": {
                "c": {"insertions": [{"file": "../main.py", "anchor": "#", "content": "x"}]}
            }
        },
        {"files": {"loops": [{"path": "/abs/{{ i }}", "over": "l", "as": "i"}]}},
    ],
)
def test_file_pointing_keys_are_confined(
    engine: SDLCEngine,
    blueprint: Callable[..., Path],
    out: Path,
    fmt: str,
    definition: dict[str, object],
) -> None:
    bp = blueprint(definition, fmt=fmt)
    with pytest.raises(BlueprintError, match="relative path inside the blueprint") as info:
        engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert info.value.where is not None and info.value.where.startswith(f"blueprint.{fmt}:")
    assert list(out.iterdir()) == []
