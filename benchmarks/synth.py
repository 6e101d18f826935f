"""Synthetic blueprints for the generation benchmark.

``build(root, n)`` writes ONE synthetic project template of ``n`` files in three
equivalent forms that must render to byte-identical projects:

* ``root/codeforge/``    — CodeForge blueprint (``blueprint.yaml`` + ``template/``)
* ``root/cookiecutter/`` — ``cookiecutter.json`` + ``{{cookiecutter.project_slug}}/…``
* ``root/copier/``       — ``copier.yml`` (``_subdirectory: template``, ``.jinja`` suffix)

What the template exercises (same in every form):

* 11 variables: ``project_name`` (given), ``project_slug`` / ``package_name``
  (str defaults rendered from earlier answers), ``author`` (str), ``version``
  (str), ``n_workers`` (int, used in arithmetic), ``use_logging`` /
  ``use_docker`` (bool), ``license`` (choice), ``features`` (list, looped over)
  and ``meta`` (dict);
* templated paths (``{{ package_name }}/group_007/mod_00042.py``,
  ``docs/{{ license | lower }}/…``), content conditionals, ``for`` loops with
  ``loop.*``, whitespace control (``{%- … -%}``), ``{% raw %}``, filters
  (``title``, ``upper``, ``tojson``, ``join``, ``length``), non-ASCII text,
  files without / with several trailing newlines, one empty file, one dotfile,
  one executable script, plain files with no Jinja at all;
* 5 % binary files (``max(1, n // 20)``): random bytes from a fixed seed, each
  starting with a NUL byte, copied byte for byte by every tool (CodeForge and
  cookiecutter detect them from the content, copier copies every file that
  does not end in ``.jinja``).

Format differences that are deliberately NOT compared (see README.md):

* the answers files (``.codeforge-answers.yml``; copier writes none because the
  template holds no ``{{ _copier_conf.answers_file }}.jinja``);
* CRLF sources: cookiecutter keeps a file's newline style, copier (Jinja)
  normalises to ``\\n`` — so every synthetic text file uses ``\\n`` only;
* conditional *files* (a path that renders empty): cookiecutter has no such
  feature (it needs a post-gen hook), so conditionals are in file contents only.

How each tool spells the same thing:

* variables: ``x`` (CodeForge, copier) vs ``cookiecutter.x``;
* ``n_workers``: cookiecutter turns every non-str default into a ``str``, so its
  form uses ``cookiecutter.n_workers | int * 2`` where the others use
  ``n_workers * 2`` (which checks CodeForge really converts ``--data`` to int);
* ``features``: cookiecutter treats a JSON list as a *choice*, so its form keeps
  a comma-separated string and loops over ``cookiecutter.features.split(',')``.

Run ``python benchmarks/synth.py OUT_DIR N`` to write the three forms by hand.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

SEED = 20240611
TOOLS = ("codeforge", "cookiecutter", "copier")

# Answers given explicitly on every command line (the rest come from defaults).
PROJECT_NAME = "demo-app"
DATA: dict[str, str] = {
    "author": "Grace Hopper",
    "n_workers": "8",
    "use_docker": "true",
    "license": "Apache-2.0",
    "features": "auth,search,export,audit",
}
DEFAULT_FEATURES = ["auth", "billing", "search"]
META = {"homepage": "https://example.org/demo", "owner": "platform-team"}
LICENSES = ["MIT", "BSD-3-Clause", "Apache-2.0"]

# ---------------------------------------------------------------------------
# Tool-specific spelling of template expressions.
#   $name       -> a variable reference
#   @N2@        -> n_workers * 2 (an int computation)
#   @FEATURES@  -> the features list
# ---------------------------------------------------------------------------
_VAR = re.compile(r"\$([a-z_]+)")


def spell(text: str, tool: str) -> str:
    """Turn the neutral template ``text`` into ``tool``'s spelling."""
    if tool == "cookiecutter":
        text = text.replace("@N2@", "cookiecutter.n_workers | int * 2")
        text = text.replace("@FEATURES@", "cookiecutter.features.split(',')")
        return _VAR.sub(r"cookiecutter.\1", text)
    if tool not in ("codeforge", "copier"):
        raise ValueError(tool)
    text = text.replace("@N2@", "n_workers * 2")
    text = text.replace("@FEATURES@", "features")
    return _VAR.sub(r"\1", text)


_WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
    "café",
    "naïve",
    "façade",
    "résumé",
    "smörgåsbord",
    "日本語",
    "données",
]


def _filler(rng: random.Random, lines: int, prefix: str) -> str:
    out = []
    for _ in range(lines):
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12)))
        out.append(f"{prefix}{words}\n")
    return "".join(out)


# --- the four text-file kinds ---------------------------------------------


def _python_module(i: int, rng: random.Random) -> str:
    return (
        f'"""Module {i} of {{{{ $project_name }}}} ({{{{ $package_name }}}}).\n'
        "\n"
        "Author: {{ $author }}\n"
        "License: {{ $license }}\n"
        '"""\n'
        "from __future__ import annotations\n"
        "\n"
        'VERSION = "{{ $version }}"\n'
        "WORKERS = {{ $n_workers }}\n"
        "DOUBLE_WORKERS = {{ @N2@ }}\n"
        "DOCKER = {{ $use_docker }}\n"
        "{% if $use_logging %}\n"
        "import logging\n"
        "\n"
        f'log = logging.getLogger("{{{{ $package_name }}}}.mod_{i}")\n'
        "{% else %}\n"
        "log = None\n"
        "{% endif %}\n"
        "FEATURES = [\n"
        '{% for feature in @FEATURES@ %}    "{{ feature }}",\n'
        "{% endfor %}]\n"
        "\n"
        "\n"
        f"def handler_{i}(x: int) -> int:\n"
        f"    return x * {i} + WORKERS\n" + _filler(rng, rng.randint(0, 40), "# ")
    )


def _markdown_page(i: int, rng: random.Random) -> str:
    return (
        f"# {{{{ $project_name | title }}}} — part {i}\n"
        "\n"
        "{% if $use_docker %}Run with `docker compose up` ({{ $n_workers }} workers)."
        "{% else %}Run locally.{% endif %}\n"
        "\n"
        "## Features ({{ @FEATURES@ | length }})\n"
        "{% for f in @FEATURES@ %}\n"
        "- {{ loop.index }}. {{ f | upper }}{% if not loop.last %};{% endif %}\n"
        "{% endfor %}\n"
        "\n"
        "Homepage: {{ $meta.homepage }} (owner: {{ $meta.owner }})\n"
        "Literal: {% raw %}{{ not_a_variable }} {% if %}{% endraw %}\n"
        + _filler(rng, rng.randint(0, 60), "")
        + "\n\n"  # ends with several newlines
    )


def _toml_config(i: int, rng: random.Random) -> str:
    return (
        f"[tool.{{{{ $package_name }}}}.section_{i}]\n"
        'license = "{{ $license }}"\n'
        "features = {{ @FEATURES@ | tojson }}\n"
        "workers = {{ $n_workers }}\n"
        "{%- if $license == 'MIT' %}\n"
        "permissive = true\n"
        "{%- else %}\n"
        "permissive = false\n"
        "{%- endif %}\n"
        'joined = "{{ @FEATURES@ | join(", ") }}"\n'
        + _filler(rng, rng.randint(0, 30), "# ")
        + f"end_{i} = true"  # no trailing newline
    )


def _plain_text(i: int, rng: random.Random) -> str:
    # No Jinja at all: the "nothing to render" path.
    return f"Plain note {i}\n" + _filler(rng, rng.randint(1, 50), "")


# (neutral path template, content builder)
_KINDS = (
    ("{{ $package_name }}/group_<g>/mod_<i>.py", _python_module),
    ("docs/{{ $license | lower }}/page_<i>.md", _markdown_page),
    ("config/{{ $project_slug }}_<i>.toml", _toml_config),
    ("data/group_<g>/note_<i>.txt", _plain_text),
)

_FIXED: tuple[tuple[str, str, int], ...] = (
    # (neutral path, neutral content, mode)
    (
        "README.md",
        "# {{ $project_name }}\n\n{{ $project_slug }} / {{ $package_name }} "
        "v{{ $version }} by {{ $author }} — {{ $license }}\n",
        0o644,
    ),
    (".editorconfig", "root = true\n\n[*]\nend_of_line = lf\n", 0o644),
    (
        "scripts/run.sh",
        '#!/bin/sh\nexec python -m {{ $package_name }} --workers {{ $n_workers }} "$@"\n',
        0o755,
    ),
    ("{{ $package_name }}/py.typed", "", 0o644),  # empty file
)


@dataclass(frozen=True)
class Forms:
    root: Path
    n: int
    codeforge: Path
    cookiecutter: Path
    copier: Path
    n_binary: int

    def path(self, tool: str) -> Path:
        return getattr(self, tool)


def plan(n: int, seed: int = SEED) -> list[tuple[str, str | bytes, int]]:
    """The n files as (neutral path, neutral text or binary bytes, mode)."""
    if n < len(_FIXED) + 1:
        raise ValueError(f"n must be at least {len(_FIXED) + 1}")
    rng = random.Random(seed)
    n_bin = max(1, n // 20)
    n_text = n - n_bin - len(_FIXED)
    files: list[tuple[str, str | bytes, int]] = list(_FIXED)
    for i in range(n_text):
        path_t, build_fn = _KINDS[i % len(_KINDS)]
        g = i // 50
        path = path_t.replace("<g>", f"{g:03d}").replace("<i>", f"{i:05d}")
        files.append((path, build_fn(i, rng), 0o644))
    for j in range(n_bin):
        size = rng.randint(256, 16384)
        blob = b"\x00" + rng.randbytes(size - 1)
        files.append((f"assets/{{{{ $package_name }}}}/blob_{j:04d}.bin", blob, 0o644))
    assert len(files) == n
    return files


def _write(path: Path, data: str | bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_bytes(data.encode("utf-8"))
    else:
        path.write_bytes(data)
    path.chmod(mode)


def _yaml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # JSON strings are valid YAML


def _codeforge_def(n: int) -> str:
    feats = ", ".join(DEFAULT_FEATURES)
    return f"""\
name: synth-{n}
version: 1.0.0
description: Synthetic benchmark blueprint with {n} files
variables:
  project_slug:
    type: str
    default: "{{{{ project_name | lower | replace(' ', '-') }}}}"
  package_name:
    type: str
    default: "{{{{ project_slug | replace('-', '_') }}}}"
  author:
    type: str
    default: Ada Lovelace
  version:
    type: str
    default: 0.1.0
  n_workers:
    type: int
    default: 4
  use_logging:
    type: bool
    default: true
  use_docker:
    type: bool
    default: false
  license:
    type: choice
    choices: [{", ".join(LICENSES)}]
    default: MIT
  features:
    type: list
    default: [{feats}]
  meta:
    type: dict
    default:
      homepage: {_yaml_str(META["homepage"])}
      owner: {_yaml_str(META["owner"])}
"""


def _copier_def() -> str:
    feats = ", ".join(DEFAULT_FEATURES)
    return f"""\
_subdirectory: template
_templates_suffix: .jinja
project_name:
  type: str
  default: {PROJECT_NAME}
project_slug:
  type: str
  default: "{{{{ project_name | lower | replace(' ', '-') }}}}"
package_name:
  type: str
  default: "{{{{ project_slug | replace('-', '_') }}}}"
author:
  type: str
  default: Ada Lovelace
version:
  type: str
  default: 0.1.0
n_workers:
  type: int
  default: 4
use_logging:
  type: bool
  default: true
use_docker:
  type: bool
  default: false
license:
  type: str
  choices: [{", ".join(LICENSES)}]
  default: MIT
features:
  type: yaml
  default: [{feats}]
meta:
  type: yaml
  default:
    homepage: {_yaml_str(META["homepage"])}
    owner: {_yaml_str(META["owner"])}
"""


def _cookiecutter_def() -> str:
    ctx = {
        "project_name": PROJECT_NAME,
        "project_slug": "{{ cookiecutter.project_name | lower | replace(' ', '-') }}",
        "package_name": "{{ cookiecutter.project_slug | replace('-', '_') }}",
        "author": "Ada Lovelace",
        "version": "0.1.0",
        "n_workers": 4,
        "use_logging": True,
        "use_docker": False,
        "license": LICENSES,  # a list is a choice; the first item is the default
        "features": ",".join(DEFAULT_FEATURES),
        "meta": META,
    }
    return json.dumps(ctx, indent=2, ensure_ascii=False) + "\n"


def build(root: Path, n: int, seed: int = SEED) -> Forms:
    """Write the three forms of the n-file synthetic template under ``root``."""
    root = Path(root)
    files = plan(n, seed)
    dirs = {tool: root / tool for tool in TOOLS}
    for d in dirs.values():
        if d.exists():
            shutil.rmtree(d)
    cf_tpl = dirs["codeforge"] / "template"
    cc_tpl = dirs["cookiecutter"] / "{{cookiecutter.project_slug}}"
    cp_tpl = dirs["copier"] / "template"
    for neutral_path, data, mode in files:
        is_text = isinstance(data, str)
        for tool, base in (("codeforge", cf_tpl), ("cookiecutter", cc_tpl), ("copier", cp_tpl)):
            rel = spell(neutral_path, tool)
            content = spell(data, tool) if isinstance(data, str) else data
            if tool == "copier" and is_text:
                rel += ".jinja"
            _write(base / rel, content, mode)
    (dirs["codeforge"] / "blueprint.yaml").write_text(_codeforge_def(n), encoding="utf-8")
    (dirs["copier"] / "copier.yml").write_text(_copier_def(), encoding="utf-8")
    (dirs["cookiecutter"] / "cookiecutter.json").write_text(_cookiecutter_def(), encoding="utf-8")
    return Forms(
        root=root,
        n=n,
        codeforge=dirs["codeforge"],
        cookiecutter=dirs["cookiecutter"],
        copier=dirs["copier"],
        n_binary=max(1, n // 20),
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python benchmarks/synth.py OUT_DIR N")
    forms = build(Path(sys.argv[1]), int(sys.argv[2]))
    for tool in TOOLS:
        print(f"{tool:13} {forms.path(tool)}")
