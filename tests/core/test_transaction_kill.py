"""SIGKILL the real ``codeforge`` console script at random moments of ``init --force`` and ``update``.

After each kill the next command that touches the folder (``codeforge check``)
must leave the project exactly as it was before (complete-old) or exactly as an
uninterrupted run leaves it (complete-new), compared by a hash of every path,
mode and byte; files outside the plan, inside the project and beside it, are
never touched. A third of the kills land anywhere in the run; a third wait for
the transaction's work folder to appear and land within its measured lifetime;
a third wait for its journal, so the swap itself is hit often.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from blueprint_factory import build_tree

from codeforge.core.transaction import work_folder

pytestmark = pytest.mark.slow

CODEFORGE = str(Path(sys.executable).with_name("codeforge"))
KILLS = {"init --force": 110, "update": 100}
WORKERS = 3
USER_FILES = {"mine.txt": "a user file\n", "notes/todo.md": "- keep me\n"}


def tree_hash(root: Path) -> str:
    """One hash over every entry under ``root``: path, kind, mode and content."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            digest.update(os.path.relpath(path, root).encode() + b"\0")
            digest.update(f"{st.st_mode:o}\0".encode())
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def make_blueprint(root: Path) -> Path:
    """A 42-file blueprint tagged v1.0.0, and v2.0.0 changing, adding and dropping files.

    v2 also drops a whole folder (``gone/``), which ``update`` then prunes.
    """
    files: dict[str, str | None] = {
        f"pkg{i % 4}/f{i}.txt": f"file {i} {{{{ greeting }}}} {{{{ project_name }}}}\n"
        for i in range(40)
    }
    files.update({"gone/a.txt": "a\n", "gone/b.txt": "b\n"})
    definition = "name: killme\nversion: {v}\nvariables:\n  greeting:\n    default: Hello\n"
    _git(build_tree(root, {}), "init", "-q")
    tag_version(root, {"blueprint.yaml": definition.format(v="1.0.0")}, files, "1.0.0")
    for i in range(20):
        files[f"pkg{i % 4}/f{i}.txt"] = f"file {i} v2 {{{{ greeting }}}}\n"
    for rel in [f"pkg{i % 4}/f{i}.txt" for i in range(20, 25)] + ["gone/a.txt", "gone/b.txt"]:
        (root / "template" / rel).unlink()
        del files[rel]
    files.update({f"added/deep/n{i}.txt": f"new {i}\n" for i in range(5)})
    tag_version(root, {"blueprint.yaml": definition.format(v="2.0.0")}, files, "2.0.0")
    return root


def tag_version(root: Path, top: dict[str, str], template: dict[str, str], version: str) -> None:
    """Write ``top`` and ``template/`` files into the repository ``root``; commit, tag ``vVERSION``."""
    build_tree(root, top)
    build_tree(root / "template", template)
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", f"v{version}")
    _git(root, "tag", f"v{version}")


@dataclasses.dataclass
class Scenario:
    name: str
    args: list[str]
    pristine: Path  # the project before the command (complete-old)
    old: str = ""
    new: str = ""
    duration: float = 0.0  # of an uninterrupted run
    windows: dict[str, float] = dataclasses.field(default_factory=dict)  # how long each lives


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CODEFORGE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _restore(scenario: Scenario, run_dir: Path) -> Path:
    project = run_dir / "proj"
    shutil.rmtree(project, ignore_errors=True)
    shutil.rmtree(work_folder(project), ignore_errors=True)
    shutil.copytree(scenario.pristine, project, symlinks=True)
    return project


def _start(scenario: Scenario, run_dir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [CODEFORGE, *scenario.args],
        cwd=run_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the kill takes its git children too
    )


def _marker(project: Path, target: str) -> Path:
    """What a targeted kill waits for: the work folder, or the journal inside it."""
    folder = work_folder(project)
    return folder if target == "folder" else folder / "journal.json"


def _calibrate(scenario: Scenario, run_dir: Path, env: dict[str, str]) -> None:
    """Time uninterrupted runs: the whole run, the work folder's life, and the swap's.

    The swap runs from the journal's appearance to the commit mark's. An
    uninterrupted run's result is complete-new.
    """
    windows: dict[str, list[float]] = {"folder": [], "journal": []}
    durations = []
    for _ in range(3):
        project = _restore(scenario, run_dir)
        scenario.old = tree_hash(project)
        started = time.perf_counter()
        proc = _start(scenario, run_dir, env)
        seen: dict[str, float] = {}
        while proc.poll() is None:
            now = time.perf_counter()
            folder = work_folder(project)
            for name, path in (("folder", folder), ("journal", folder / "journal.json")):
                if name not in seen and os.path.lexists(path):
                    seen[name] = now
            swapped = os.path.lexists(folder / "committed") or not os.path.lexists(folder)
            if "journal" in seen and "committed" not in seen and swapped:
                seen["committed"] = now
                windows["journal"].append(now - seen["journal"])
            if "folder" in seen and "gone" not in seen and not os.path.lexists(folder):
                seen["gone"] = now
                windows["folder"].append(now - seen["folder"])
            time.sleep(0.001)
        assert proc.returncode == 0, scenario.args
        durations.append(time.perf_counter() - started)
        new = tree_hash(project)
        assert scenario.new in ("", new), "an uninterrupted run must be deterministic"
        scenario.new = new
    assert scenario.new != scenario.old
    assert windows["folder"], "the run never showed a work folder"
    scenario.duration = max(durations)
    fallback = max(windows["folder"])  # a swap too short to be seen
    scenario.windows = {t: 1.5 * max(lives or [fallback]) for t, lives in windows.items()}


def _kill_once(scenario: Scenario, run_dir: Path, env: dict[str, str], target: str) -> bool:
    """Start the command and SIGKILL it; False when it finished before the kill."""
    proc = _start(scenario, run_dir, env)
    if target in scenario.windows:
        marker = _marker(run_dir / "proj", target)
        return kill_after(proc, marker, random.uniform(0, scenario.windows[target]))
    return kill_after(proc, None, random.uniform(0, 0.9 * scenario.duration))


def kill_after(proc: subprocess.Popen[bytes], marker: Path | None, delay: float) -> bool:
    """SIGKILL ``proc``'s group ``delay`` s after ``marker`` appears; False if it ended first."""
    deadline = time.perf_counter() + 60
    while marker is not None and not os.path.lexists(marker) and proc.poll() is None:
        assert time.perf_counter() < deadline
        time.sleep(0.001)
    time.sleep(delay)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return proc.wait() == -signal.SIGKILL


def _outcome(message: str) -> str:
    for phrase, outcome in (
        ("was rolled back: 0 change", "cleaned up"),
        ("was rolled back", "rolled back mid-swap"),
        ("had made all its changes", "completed"),
        ("had not changed the folder", "cleaned up"),
    ):
        if phrase in message:
            return outcome
    raise AssertionError(f"no recovery outcome in {message!r}")


def _loop(scenario: Scenario, run_dir: Path, env: dict[str, str], kills: int) -> Counter[str]:
    """Kill the command ``kills`` times in ``run_dir``; count the outcomes."""
    tally: Counter[str] = Counter()
    neighbour = run_dir / "neighbour.txt"
    done = 0
    while done < kills:
        project = _restore(scenario, run_dir)
        target = ("anywhere", "folder", "journal")[done % 3]
        if not _kill_once(scenario, run_dir, env, target):
            tally[f"{scenario.name}: finished before the kill"] += 1
            continue
        done += 1
        pending = os.path.lexists(work_folder(project))
        recovery = "none needed"
        if pending or done % 20 == 0:
            check = _run(["check", "proj"], run_dir, env)
            if pending:
                assert check.returncode == 101, check.stderr
                recovery = _outcome(check.stderr)
            else:
                assert check.returncode in (0, 100), check.stderr
                assert "recovered" not in check.stderr
        state = tree_hash(project)
        assert state in (scenario.old, scenario.new), (
            f"{scenario.name}: a kill left a tree that is neither old nor new ({recovery})"
        )
        assert neighbour.read_text() == "beside the project\n"
        assert sorted(p.name for p in run_dir.iterdir()) == ["neighbour.txt", "proj"]
        for rel, text in USER_FILES.items():
            assert (project / rel).read_text() == text
        kind = "old" if state == scenario.old else "new"
        tally[f"{scenario.name}: {kind}, {recovery}"] += 1
    return tally


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEFORGE_")}
    for kind in ("config", "data", "cache"):
        env[f"CODEFORGE_{kind.upper()}_DIR"] = str(home / kind)
    return env


def _scenarios(tmp_path: Path, env: dict[str, str]) -> list[Scenario]:
    bp = make_blueprint(tmp_path / "bp")
    made = tmp_path / "made"
    made.mkdir()
    for name in ("init", "update"):
        folder = made / name
        folder.mkdir()
        args = ["init", "proj", "-t", str(bp), "--vcs-ref", "v1.0.0", "--defaults", "--no-git"]
        assert _run(args, folder, env).returncode == 0
        build_tree(folder / "proj", USER_FILES)
    (made / "update" / "proj" / "pkg2" / "f30.txt").write_text("edited by the user\n")
    force = ["init", "proj", "-t", str(bp), "--vcs-ref", "v2.0.0", "--defaults", "--force"]
    return [
        Scenario("init --force", [*force, "--no-git", "--data", "greeting=Hi"], made / "init/proj"),
        Scenario("update", ["update", "proj", "--defaults"], made / "update" / "proj"),
    ]


def test_every_kill_leaves_the_old_or_the_new_tree(tmp_path: Path) -> None:
    if shutil.which("git") is None and not os.environ.get("CI"):
        pytest.skip("git is not installed")
    started = time.perf_counter()
    env = _environment(tmp_path / "home")
    scenarios = _scenarios(tmp_path, env)
    tally: Counter[str] = Counter()
    for scenario in scenarios:
        runs = []
        for worker in range(WORKERS):
            run_dir = tmp_path / "runs" / scenario.name.replace(" ", "") / str(worker)
            run_dir.mkdir(parents=True)
            (run_dir / "neighbour.txt").write_text("beside the project\n")
            runs.append(run_dir)
        _calibrate(scenario, runs[0], env)
        total = KILLS[scenario.name]
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            shares = [total // WORKERS + (w < total % WORKERS) for w in range(WORKERS)]
            loops = [
                pool.submit(_loop, scenario, r, env, n) for r, n in zip(runs, shares, strict=True)
            ]
            for loop in loops:
                tally.update(loop.result())  # re-raises a worker's failed assertion
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"\nkill loop: {sum(KILLS.values())} kills in {time.perf_counter() - started:.1f} s "
        f"(CPU of the commands: {children.ru_utime + children.ru_stime:.1f} s)"
    )
    for key, count in sorted(tally.items()):
        print(f"  {key}: {count}")
    for scenario in scenarios:
        outcomes = {k: n for k, n in tally.items() if k.startswith(scenario.name)}
        killed = {k: n for k, n in outcomes.items() if "finished" not in k}
        assert sum(killed.values()) == KILLS[scenario.name]
        # The kills must really land inside the transaction, mid-swap included.
        assert outcomes.get(f"{scenario.name}: old, rolled back mid-swap", 0) > 0, tally
        recovered = sum(n for k, n in killed.items() if "none needed" not in k)
        assert recovered >= KILLS[scenario.name] // 5, tally
