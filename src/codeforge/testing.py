"""pytest plugin for blueprint authors (registered as the ``pytest11`` entry point ``codeforge``).

Installed with CodeForge, it gives every test suite a ``codeforge`` fixture, as
pytest-cookies and pytest-copie do for cookiecutter and copier::

    def test_defaults(codeforge):
        result = codeforge.generate(answers={"port": 8080})
        assert result.exit_code == 0, result.error
        assert "app/main.py" in result.files
        assert (result.path / "README.md").read_text().startswith("# project")

    def test_bad_port(codeforge):
        result = codeforge.generate(answers={"port": "eighty"})
        assert result.exit_code == 3  # ValidationError
        assert "port" in str(result.error)

``generate(template=None, answers=None, name="project", trust=False,
vcs_ref=None, git=False)`` renders into a fresh folder under the test's
``tmp_path`` with no prompt, through the library (:class:`SDLCEngine`, in
process) and returns a :class:`Result`: ``path`` (the project folder, None when
nothing was made), ``files`` (sorted relative paths), ``exit_code`` (0, or the
CodeForge error's exit code, as the CLI would give), ``error`` (the
:class:`CodeForgeError` or None), ``answers`` (the recorded answers, secrets
left out), ``source`` and ``warnings``. Errors that are not CodeForge's (a bug)
are not caught.

Which blueprint: ``template`` if given, else ``--codeforge-blueprint`` on the
command line (relative to where pytest was started), else the
``codeforge_blueprint`` ini option (relative to the ini file), else the rootdir:
a blueprint repository tests itself. Any ``-t`` form is accepted (built-in
name, folder, git URL, ``plugin:NAME``). A local folder that is a git working
copy is used at ``HEAD`` with its uncommitted changes unless ``vcs_ref`` says
otherwise, so the tests see what the author is editing.

Isolation: each test gets its own config, data and cache folders under
``tmp_path``; the user's config (trusted sources, defaults, author) is not
read; the project gets no git repository unless ``git=True``; tasks run only
with ``trust=True``.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from codeforge.errors import CodeForgeError

OPTION = "--codeforge-blueprint"
INI = "codeforge_blueprint"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("codeforge", "CodeForge blueprint testing")
    group.addoption(
        OPTION,
        dest="codeforge_blueprint",
        default=None,
        metavar="TEMPLATE",
        help="Blueprint the `codeforge` fixture generates from (default: the rootdir).",
    )
    parser.addini(INI, "Blueprint the `codeforge` fixture generates from (default: the rootdir).")


@dataclasses.dataclass
class Result:
    """What one ``generate`` call made, or the error that stopped it."""

    path: Path | None
    files: list[str]
    exit_code: int
    error: CodeForgeError | None
    answers: dict[str, Any]
    source: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)

    def __repr__(self) -> str:
        state = "ok" if self.error is None else f"exit {self.exit_code}: {self.error}"
        return f"<Result {self.path} ({len(self.files)} files, {state})>"


class CodeForge:
    """The ``codeforge`` fixture: generates projects from a blueprint into ``tmp_path``."""

    def __init__(self, tmp_path: Path, default_template: str) -> None:
        self.tmp_path = tmp_path
        self.default_template = default_template
        self._runs = itertools.count()

    def _settings(self) -> Any:
        from codeforge.settings import Settings

        home = self.tmp_path / "codeforge-home"
        return Settings(
            config_dir=home / "config", data_dir=home / "data", cache_dir=home / "cache"
        )

    def generate(
        self,
        template: str | Path | None = None,
        answers: Mapping[str, Any] | None = None,
        name: str = "project",
        *,
        trust: bool = False,
        vcs_ref: str | None = None,
        git: bool = False,
    ) -> Result:
        """Generate project ``name`` with ``answers`` (no prompts); see the module docstring."""
        from codeforge.app.local import local_engine
        from codeforge.core.engine import SilentReporter
        from codeforge.errors import CodeForgeError
        from codeforge.sources.urls import is_git_repository, looks_like_git_url

        chosen = str(template) if template is not None else self.default_template
        if vcs_ref is None and not looks_like_git_url(chosen):
            folder = Path(chosen).expanduser()
            if folder.is_dir() and (folder / ".git").exists() and is_git_repository(folder):
                vcs_ref = "HEAD"  # the author's working copy, edits included
        output = self.tmp_path / f"codeforge-run{next(self._runs)}"
        output.mkdir(parents=True)
        reporter = SilentReporter()
        engine = local_engine(self._settings(), reporter=reporter)
        try:
            made = engine.create_project(
                chosen,
                name,
                output_dir=output,
                data=dict(answers or {}),
                git=git,
                trust=trust,
                vcs_ref=vcs_ref,
            )
        except CodeForgeError as exc:
            return Result(None, [], exc.exit_code, exc, {}, None, reporter.messages)
        files = sorted(
            p.relative_to(made.destination).as_posix()
            for p in made.destination.rglob("*")
            if (p.is_file() or p.is_symlink())
            and ".git" not in p.relative_to(made.destination).parts
        )
        return Result(
            made.destination, files, 0, None, made.answers, made.source, reporter.messages
        )


def _default_template(config: pytest.Config) -> str:
    value = config.getoption("codeforge_blueprint")
    if value:
        base = Path(config.invocation_params.dir)
    else:
        value = config.getini(INI)
        base = Path(config.inipath).parent if config.inipath else Path(config.rootpath)
    if not value:
        return str(config.rootpath)
    text = str(value)
    candidate = base / text
    if not Path(text).is_absolute() and candidate.is_dir():
        return str(candidate.resolve())
    return text


@pytest.fixture
def codeforge(request: pytest.FixtureRequest, tmp_path: Path) -> CodeForge:
    """Generate projects from the blueprint under test (see ``codeforge.testing``)."""
    return CodeForge(tmp_path, _default_template(request.config))
