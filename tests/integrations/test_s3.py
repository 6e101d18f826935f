"""The S3 artifact store against a real S3 server (SeaweedFS, which checks signatures)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from s3_support import SeaweedFS

from codeforge.app.artifacts import artifact_stores
from codeforge.errors import NotFoundError, StoreError, UsageError
from codeforge.integrations.s3 import S3ArtifactStore, parse_s3_url
from codeforge.plugins.manager import build_plugins
from codeforge.settings import load_settings


@pytest.fixture
def prefix() -> str:
    return SeaweedFS.new_prefix()


def store_for(seaweedfs: SeaweedFS, prefix: str, **env: str) -> S3ArtifactStore:
    url = f"s3://{seaweedfs.bucket}/{prefix}/results"
    return S3ArtifactStore(url, {**seaweedfs.env(prefix), **env})


def fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers["Content-Disposition"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), ""


def test_put_open_size_delete(seaweedfs: SeaweedFS, prefix: str) -> None:
    store = store_for(seaweedfs, prefix)
    artifact = store.put("job1", b"zip bytes", "zip")
    assert artifact == "job1.zip"
    assert seaweedfs.keys(prefix) == ["results/job1.zip"]
    with store.open(artifact) as stream:
        assert stream.read() == b"zip bytes"
    assert store.size(artifact) == 9
    # A retried job replaces its own result.
    store.put("job1", iter([b"second ", b"try"]), "zip")
    assert store.open(artifact).read() == b"second try"
    assert store.delete(artifact) is True
    assert store.delete(artifact) is False
    assert seaweedfs.keys(prefix) == []
    for bad in ("job1.zip", "../x.zip", "noext"):
        with pytest.raises(NotFoundError):
            store.open(bad)
    with pytest.raises(NotFoundError, match="expired or was removed"):
        store.size("job1.zip")


def test_a_large_streamed_artifact_round_trips(seaweedfs: SeaweedFS, prefix: str) -> None:
    store = store_for(seaweedfs, prefix)
    chunk = bytes(range(256)) * 4096  # 1 MiB
    artifact = store.put("big", (chunk for _ in range(12)), "zip")  # spills past 8 MiB
    assert store.size(artifact) == 12 * len(chunk)
    assert store.open(artifact).read() == chunk * 12


def test_expire_removes_only_old_results(seaweedfs: SeaweedFS, prefix: str) -> None:
    stores = artifact_stores(load_settings(), build_plugins({}), seaweedfs.env(prefix))
    assert stores.archives is not None
    stores.results.put("old", b"o", "zip")
    stores.archives.put("sha256-abc", b"blueprint", "bin")
    time.sleep(2.5)  # S3 keeps whole seconds
    stores.results.put("new", b"n", "zip")
    assert stores.results.expire(1.6) == 1
    assert seaweedfs.keys(prefix) == [
        "blueprints/sha256-abc.bin",
        "results/new.zip",
    ]
    assert stores.results.expire(3600) == 0


def test_presigned_download_works_and_a_tampered_one_is_refused(
    seaweedfs: SeaweedFS, prefix: str
) -> None:
    store = store_for(seaweedfs, prefix)
    artifact = store.put("job2", b"the result", "zip")
    url = store.download_url(artifact, 'attachment; filename="demo.zip"')
    assert url is not None and url.startswith(seaweedfs.endpoint)
    assert fetch(url) == (200, b"the result", 'attachment; filename="demo.zip"')
    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    forged = url.replace(signature, signature[:-1] + ("0" if signature[-1] != "0" else "1"))
    status, body, _ = fetch(forged)
    assert (status, b"SignatureDoesNotMatch" in body) == (403, True)
    other = store.put("job3", b"someone else's", "zip")
    assert fetch(url.replace("/job2.zip", f"/{other}"))[0] == 403  # a signature is per object
    with pytest.raises(NotFoundError):
        store.download_url("gone.zip", "attachment")


def test_a_presigned_url_expires(seaweedfs: SeaweedFS, prefix: str) -> None:
    store = store_for(seaweedfs, prefix, CODEFORGE_S3_PRESIGN_SECONDS="1")
    url = store.download_url(store.put("job4", b"x", "zip"), "attachment")
    assert url is not None
    time.sleep(2.1)
    assert fetch(url)[0] == 403


def test_download_urls_use_the_public_endpoint(seaweedfs: SeaweedFS, prefix: str) -> None:
    public = seaweedfs.endpoint.replace("127.0.0.1", "localhost")  # another name, same server
    store = store_for(seaweedfs, prefix, CODEFORGE_S3_PUBLIC_ENDPOINT_URL=public)
    url = store.download_url(store.put("job6", b"via the public name", "zip"), "attachment")
    assert url is not None and url.startswith(f"{public}/{seaweedfs.bucket}/")
    assert fetch(url)[:2] == (200, b"via the public name")  # signed for that host


def test_presigning_off_streams_through_the_api(seaweedfs: SeaweedFS, prefix: str) -> None:
    store = store_for(seaweedfs, prefix, CODEFORGE_S3_PRESIGN_SECONDS="0")
    assert store.download_url(store.put("job5", b"x", "zip"), "attachment") is None


def test_a_wrong_secret_or_a_missing_bucket_is_a_store_error(
    seaweedfs: SeaweedFS, prefix: str
) -> None:
    wrong = store_for(seaweedfs, prefix, AWS_SECRET_ACCESS_KEY="not-the-secret")
    with pytest.raises(StoreError, match="SignatureDoesNotMatch") as caught:
        wrong.put("job", b"x", "zip")
    assert "not-the-secret" not in str(caught.value)
    missing = S3ArtifactStore("s3://no-such-bucket-here/p", seaweedfs.env(prefix))
    with pytest.raises(StoreError, match="NoSuchBucket"):
        missing.put("job", b"x", "zip")
    assert seaweedfs.keys(prefix) == []


def test_an_unreachable_endpoint_is_a_store_error(tmp_path: Path) -> None:
    env = {
        "CODEFORGE_S3_ENDPOINT_URL": "http://127.0.0.1:9",  # discard port: refused
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
    }
    store = S3ArtifactStore("s3://bucket/p", env)
    started = time.monotonic()
    with pytest.raises(StoreError, match="cannot write to the artifact store s3://bucket/p/"):
        store.put("job", b"x", "zip")
    with pytest.raises(StoreError):
        store.download_url("job.zip", "attachment")
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(
    "url",
    ["s3://", "s3:///prefix", "http://bucket/p", "s3://key:secret@bucket/p", "s3://b/p?x=1"],
)
def test_bad_urls_name_the_variable(url: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_s3_url(url)
    assert caught.value.where == "CODEFORGE_ARTIFACTS_URL"


def test_the_url_picks_the_store(tmp_path: Path) -> None:
    plugins = build_plugins({})
    settings = load_settings()
    local = artifact_stores(settings, plugins, {})
    assert local.archives is None  # the embedded default keeps archives in the database
    assert local.results.download_url("x.zip", "attachment") is None
    folder = artifact_stores(settings, plugins, {"CODEFORGE_ARTIFACTS_URL": f"file://{tmp_path}"})
    assert folder.results.put("a", b"1", "zip") == "a.zip"
    assert (tmp_path / "results" / "a.zip").read_bytes() == b"1"
    s3 = artifact_stores(settings, plugins, {"CODEFORGE_ARTIFACTS_URL": "s3://b/p/"})
    assert isinstance(s3.results, S3ArtifactStore) and s3.results.prefix == "p/results/"
    assert isinstance(s3.archives, S3ArtifactStore) and s3.archives.prefix == "p/blueprints/"
    with pytest.raises(UsageError, match="no artifact store for 'ftp://x'") as caught:
        artifact_stores(settings, plugins, {"CODEFORGE_ARTIFACTS_URL": "ftp://x"})
    assert caught.value.hint is not None and "file, s3" in caught.value.hint
