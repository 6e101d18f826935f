"""The web page's test blueprint (every variable type, a `when`, a secret, hostile text) and helpers."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

PASSWORD = "correct horse battery"
HOSTILE = "<script>alert('x')</script> javascript:alert(1)"

BLUEPRINT_YAML = f"""\
name: web-demo
version: 2.1.0
description: "A demo for the page {HOSTILE}"
tags: [demo, "<script>tag</script>"]
variables:
  package:
    type: str
    help: Python import name
    default: "{{{{ project_name | snake }}}}"
    validators:
      - regex: '^[a-z_][a-z0-9_]*$'
        message: must be a valid Python identifier
  port:
    type: int
    help: Port to listen on
    default: 8000
    validators:
      - min: 1
      - max: 65535
  ratio:
    type: float
    default: 0.5
  use_db:
    type: bool
    help: Use a database
    default: false
  db_url:
    type: str
    help: Where the database is
    default: "sqlite:///app.db"
    when: "use_db"
  db_password:
    type: secret
    help: The database password
    when: "use_db"
  license:
    type: choice
    choices: [MIT, Apache-2.0]
    default: MIT
  features:
    type: multichoice
    choices: [cli, docs, docker]
    default: [cli]
  data_dir:
    type: str
    help: A relative folder for data
    default: data
"""

FILES = {
    "blueprint.yaml": BLUEPRINT_YAML.encode(),
    "template/README.md.jinja": (
        b"# {{ project_name }}\n\npackage {{ package }} on port {{ port }} ratio {{ ratio }}\n"
        b"license {{ license }}; features {{ features | join(',') }}; data in {{ data_dir }}\n"
        b"{% if use_db %}db {{ db_url }} (password set: {{ db_password != '' }})\n{% endif %}"
    ),
    "template/src/{{ package }}/__init__.py.jinja": b'"""{{ project_name }}."""\n',
}


def blueprint_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in FILES.items():
            archive.writestr(f"web-demo/{name}", content)
    return buffer.getvalue()


def write_blueprint(folder: Path) -> Path:
    for name, content in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return folder


def zip_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}


def tree_files(root: Path) -> dict[str, bytes]:
    return {
        f"{root.name}/{p.relative_to(root).as_posix()}": p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
