"""The `codeforge.testing` pytest plugin, run by pytest itself (pytester)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DEFINITION = """\
name: tested
version: 1.0.0
variables:
  port:
    type: int
    default: 8000
    validators:
      - {min: 1024, message: "pick a port above 1023"}
"""


def write_blueprint(root: Path) -> Path:
    (root / "template" / "app").mkdir(parents=True)
    (root / "blueprint.yaml").write_text(DEFINITION)
    (root / "template" / "app" / "main.py").write_text("PORT = {{ port }}\n")
    (root / "template" / "README.md").write_text("# {{ project_name }}\n")
    return root


def test_the_plugin_is_registered() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "--codeforge-blueprint" in proc.stdout


def test_generate_passing_and_failing_answers(pytester: pytest.Pytester) -> None:
    write_blueprint(pytester.path)
    pytester.makepyfile(
        test_bp="""
        def test_defaults(codeforge):
            result = codeforge.generate(answers={"port": 8080}, name="shop")
            assert result.exit_code == 0, result.error
            assert result.error is None
            assert result.files == [".codeforge-answers.yml", "README.md", "app/main.py"]
            assert (result.path / "app" / "main.py").read_text() == "PORT = 8080\\n"
            assert result.path.name == "shop"
            assert result.answers == {"port": 8080}
            assert not (result.path / ".git").exists()

        def test_bad_answer(codeforge):
            result = codeforge.generate(answers={"port": 80})
            assert result.exit_code == 3
            assert "pick a port above 1023" in str(result.error)
            assert result.path is None and result.files == []

        def test_two_runs_in_one_test(codeforge, tmp_path):
            first = codeforge.generate(answers={"port": 2000})
            second = codeforge.generate(answers={"port": 3000})
            assert first.path != second.path
            assert first.path.is_relative_to(tmp_path)

        def test_a_failing_blueprint_test_fails(codeforge):
            assert codeforge.generate(answers={"port": 80}).exit_code == 0
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*test_a_failing_blueprint_test_fails*", "*exit 3*pick a port*"])


def test_the_blueprint_option_and_ini(pytester: pytest.Pytester) -> None:
    write_blueprint(pytester.path / "bp")
    pytester.makepyfile(
        test_opt="""
        def test_it(codeforge):
            result = codeforge.generate()
            assert result.exit_code == 0, result.error
            assert "app/main.py" in result.files
            assert result.source.endswith("bp")
        """
    )
    # Without the option the rootdir (no blueprint there) is used: a clear failure.
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no blueprint*"])
    result = pytester.runpytest("-p", "no:cacheprovider", "--codeforge-blueprint", "bp")
    result.assert_outcomes(passed=1)
    pytester.makeini("[pytest]\ncodeforge_blueprint = bp\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_git_working_copy_is_tested_with_its_edits(pytester: pytest.Pytester) -> None:
    root = write_blueprint(pytester.path / "bp")
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-qm", "one"],
        ["tag", "1.0.0"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, env={**os.environ, **env})
    (root / "template" / "NEW.md").write_text("edited\n")  # not committed
    pytester.makepyfile(
        test_wc="""
        def test_head_with_edits(codeforge):
            result = codeforge.generate()
            assert result.exit_code == 0, result.error
            assert "NEW.md" in result.files
            assert any("uncommitted" in w for w in result.warnings)

        def test_a_tag(codeforge):
            result = codeforge.generate(vcs_ref="1.0.0")
            assert result.exit_code == 0, result.error
            assert "NEW.md" not in result.files
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--codeforge-blueprint", "bp")
    result.assert_outcomes(passed=2)
