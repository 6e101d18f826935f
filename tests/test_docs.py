"""The docs' examples run: every command in a `<!-- doctest -->` block, and the README's blueprint."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from codeforge.cli.main import run
from codeforge.templates.definition import read_definition
from codeforge.templates.validation import build_blueprint

ROOT = Path(__file__).resolve().parent.parent
BLOCK_RE = re.compile(r"<!-- doctest -->\s*```bash\n(.*?)```", re.S)
# `<!-- doctest: bash [redis] -->`: the block runs as one bash script (set -euo pipefail)
BASH_RE = re.compile(r"<!-- doctest: bash( redis)? -->\s*```bash\n(.*?)```", re.S)
DOCS = sorted(p.relative_to(ROOT).as_posix() for p in [ROOT / "README.md", *ROOT.glob("docs/*.md")])
BASH_TIMEOUT = 180


def doctest_commands(path: Path) -> list[str]:
    commands = []
    for block in BLOCK_RE.findall(path.read_text(encoding="utf-8")):
        commands.extend(line.strip() for line in block.splitlines() if line.strip())
    return commands


def exit_code(argv: list[str]) -> int:
    """Run the CLI in-process the way the console script does; return its exit code."""
    try:
        run(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_readme_has_runnable_examples() -> None:
    assert len(doctest_commands(ROOT / "README.md")) >= 5


def test_readme_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for command in doctest_commands(ROOT / "README.md"):
        argv = shlex.split(command)
        assert argv[0] == "codeforge", command
        code = exit_code(argv[1:])
        captured = capsys.readouterr()
        assert code == 0, f"{command!r} failed: {captured.err}"
    assert (tmp_path / "shop-api" / ".codeforge-answers.yml").is_file()
    assert not (tmp_path / "preview").exists()  # the dry run wrote nothing


@pytest.mark.parametrize("doc", ["README.md", "docs/blueprint-format.md"])
def test_blueprint_examples_in_docs_are_valid(doc: str, tmp_path: Path) -> None:
    """Every YAML example that starts with `name:` is a complete, valid definition."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    examples = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if b.startswith("name:")]
    for index, example in enumerate(examples):
        path = tmp_path / f"example{index}.yaml"
        path.write_text(example, encoding="utf-8")
        data, locate = read_definition(path)
        bp = build_blueprint(data, locate, root=tmp_path, definition=path, content_hash="x")
        assert bp.name
    if doc == "README.md":
        assert examples, "the README should show a blueprint definition"


def bash_blocks() -> list[tuple[str, int, bool, str]]:
    found = []
    for doc in DOCS:
        for index, (redis, script) in enumerate(BASH_RE.findall((ROOT / doc).read_text())):
            found.append((doc, index, bool(redis), script))
    return found


def test_docs_have_bash_examples() -> None:
    docs = {doc for doc, *_ in bash_blocks()}
    assert {"docs/lifecycle.md", "docs/scaling.md"} <= docs


@pytest.mark.parametrize(
    ("doc", "index", "needs_redis", "script"),
    [pytest.param(*block, id=f"{block[0]}#{block[1]}") for block in bash_blocks()],
)
def test_bash_examples_run(
    doc: str, index: int, needs_redis: bool, script: str, tmp_path: Path
) -> None:
    """Run the block as a user would: bash, `codeforge` on PATH, a fresh folder and home."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GIT_AUTHOR_NAME": "Doc Test",
        "GIT_AUTHOR_EMAIL": "doc@example.com",
        "GIT_COMMITTER_NAME": "Doc Test",
        "GIT_COMMITTER_EMAIL": "doc@example.com",
        "CODEFORGE_RATE_LIMITS": "off",
    }
    if needs_redis:
        sys.path.insert(0, str(Path(__file__).parent))
        from cache.redis_support import delete_prefix, redis_test_url, require_redis

        require_redis(redis_test_url())
        run_id = uuid.uuid4().hex[:10]
        env["CODEFORGE_REDIS_PREFIX"] = f"cfdoc:{run_id}:"
        env["CODEFORGE_JOB_QUEUE"] = f"cfdoc-{run_id}"
    proc = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so a timeout stops the servers the block started too
    )
    try:
        output, _ = proc.communicate(timeout=BASH_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"{doc} block {index} ran over {BASH_TIMEOUT} s:\n{output}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # anything the block left running
        except ProcessLookupError:
            pass
        if needs_redis:
            delete_prefix(redis_test_url(), env["CODEFORGE_REDIS_PREFIX"])
    assert proc.returncode == 0, f"{doc} block {index} failed:\n{output}"
