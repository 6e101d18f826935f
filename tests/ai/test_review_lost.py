"""The model server dies mid-review: a real SIGKILL of the local server the console script
started. The files done are reported, the rest listed as not reviewed, exit 13."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from cli_support import CODEFORGE

from .conftest import require_extras
from .test_review_input import SHELL, env_for

require_extras()

FILES = 6


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(t) for t in text]
    return found


def test_killing_the_model_server_mid_review_is_exit_13(tmp_path: Path) -> None:
    files = [tmp_path / f"m{i}.py" for i in range(FILES)]
    for i, f in enumerate(files):
        f.write_text(SHELL + f"\n\nVALUE = {i}\n")
    proc = subprocess.Popen(
        [str(CODEFORGE), "ai", "review", *map(str, files), "--format", "json",
         "--local-model", "smollm2-135m"],
        env=env_for(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    seen: list[str] = []
    killed = None
    deadline = time.monotonic() + 300
    # The first file's progress line: the server is up and answering; kill it now.
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith(f"[1/{FILES}]"):
            [killed] = children(proc.pid)
            os.kill(killed, signal.SIGKILL)
            break
    out, err = proc.communicate(timeout=120)
    err = "".join(seen) + err
    assert killed is not None, err
    assert proc.returncode == 13, err
    report = json.loads(out)
    not_reviewed = report["not_reviewed"]
    assert 1 <= len(not_reviewed) <= FILES - 1, report
    assert not_reviewed == [str(f) for f in files[FILES - len(not_reviewed) :]]
    for path in not_reviewed:
        assert f"not reviewed by the model: {path}" in err
    # The static stage saw every file; the files done before the kill were reported.
    assert {f["file"] for f in report["findings"] if f["source"] == "bandit"} == set(
        map(str, files)
    )
    assert "cannot reach the model endpoint" in report["model_lost"]
    assert re.search(r"error: .*the model server was lost mid-review", err)
    assert f"{len(not_reviewed)} file(s) not reviewed by the model" in err
    assert "Traceback" not in err
    # The killed server is gone (not left behind as a zombie of the review).
    assert (
        not Path(f"/proc/{killed}").exists()
        or "Z" in Path(f"/proc/{killed}/stat").read_text().split()[2]
    )
