"""Registering blueprints: archives extracted safely, git URLs checked after DNS, retirement."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Api

V1 = "/api/v1"

BLUEPRINT_YAML = b"""name: team-lib
version: 1.2.0
description: A team library
variables:
  greeting:
    type: str
    default: hello
tasks:
  - command: [touch, PWNED]
"""
TEMPLATE = {
    "blueprint.yaml": BLUEPRINT_YAML,
    "template/README.md.jinja": b"# {{ project_name }}: {{ greeting }}\n",
    "template/src/app.py": b"print('hi')\n",
}


def make_zip(files: dict[str, bytes], top: str = "team-lib-main") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{top}/{name}" if top else name, content)
    return buffer.getvalue()


def make_tar(members: list[tarfile.TarInfo], contents: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info in members:
            data = (contents or {}).get(info.name)
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def upload(api: Api, data: bytes, caller: str = "maya") -> object:
    return api.as_(
        getattr(api, caller),
        "POST",
        f"{V1}/blueprints/upload",
        files={"archive": ("bp.zip", data, "application/octet-stream")},
    )


def test_register_an_archive_generate_from_it_and_retire_it(api: Api, tmp_path: object) -> None:
    archive_bytes = make_zip(TEMPLATE)  # one archive: a zip made a second later differs
    response = upload(api, archive_bytes)
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert (body["name"], body["version"]) == ("team-lib", "1.2.0")
    assert body["source"].startswith("archive:sha256:")
    listed = {b["name"]: b for b in api.as_(api.alice, "GET", f"{V1}/blueprints").json()}
    assert listed["team-lib"]["versions"] == ["1.2.0"]
    detail = api.as_(api.alice, "GET", f"{V1}/blueprints/team-lib").json()
    assert detail["variables_schema"]["properties"]["greeting"]["default"] == "hello"
    assert detail["has_tasks"] is True
    gen = api.as_(
        api.alice, "POST", f"{V1}/projects/generate", json={"template": "team-lib", "name": "t1"}
    )
    assert gen.status_code == 200, gen.text
    with zipfile.ZipFile(io.BytesIO(gen.content)) as archive:
        names = archive.namelist()
        assert archive.read("t1/README.md") == b"# t1: hello\n"
        answers = archive.read("t1/.codeforge-answers.yml").decode()
    assert "PWNED" not in " ".join(names)  # tasks never run from the API
    assert body["source"] in answers  # the registered source, not a server path
    # Another server (empty cache) rebuilds the files from the stored archive.
    shutil.rmtree(api.client.app.state.ctx.config.blueprint_dir)  # type: ignore[attr-defined]
    again = api.as_(
        api.bob, "POST", f"{V1}/projects/generate", json={"template": "team-lib", "name": "t1"}
    )
    assert again.content == gen.content
    # Same archive again: idempotent.
    assert upload(api, archive_bytes).status_code == 201  # type: ignore[attr-defined]
    # Retire: members may not; maintainers may; then it is gone.
    assert api.as_(api.alice, "DELETE", f"{V1}/blueprints/team-lib").status_code == 403
    retired = api.as_(api.maya, "DELETE", f"{V1}/blueprints/team-lib")
    assert retired.status_code == 200, retired.text
    assert "team-lib" not in [
        b["name"] for b in api.as_(api.alice, "GET", f"{V1}/blueprints").json()
    ]
    gone = api.as_(
        api.alice, "POST", f"{V1}/projects/generate", json={"template": "team-lib", "name": "t"}
    )
    assert gone.status_code == 404
    actions = [r["action"] for r in api.as_(api.root, "GET", f"{V1}/activity").json()["items"]]
    assert "blueprint.register" in actions and "blueprint.retire" in actions


def test_registration_needs_a_maintainer(api: Api) -> None:
    assert upload(api, make_zip(TEMPLATE), "alice").status_code == 403  # type: ignore[attr-defined]
    assert upload(api, make_zip(TEMPLATE), "root").status_code == 201  # type: ignore[attr-defined]
    assert (
        api.as_(
            api.bob, "POST", f"{V1}/blueprints", json={"git_url": "https://example.com/x.git"}
        ).status_code
        == 403
    )


def test_builtins_cannot_be_shadowed_or_retired(api: Api) -> None:
    files = {**TEMPLATE, "blueprint.yaml": BLUEPRINT_YAML.replace(b"team-lib", b"lib-python")}
    assert upload(api, make_zip(files)).status_code == 409  # type: ignore[attr-defined]
    assert api.as_(api.maya, "DELETE", f"{V1}/blueprints/lib-python").status_code == 409
    assert api.as_(api.maya, "DELETE", f"{V1}/blueprints/unknown").status_code == 404


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (make_zip({**TEMPLATE, "../evil.txt": b"x"}, top=""), "outside"),
        (make_zip({**TEMPLATE, "/etc/evil": b"x"}, top=""), "absolute"),
        (
            make_tar(
                [_file("blueprint.yaml"), _link("template/x", "/etc/passwd")],
                {"blueprint.yaml": BLUEPRINT_YAML},
            ),
            "link",
        ),
        (
            make_tar(
                [_file("blueprint.yaml"), _link("template/h", "/etc/passwd", tarfile.LNKTYPE)],
                {"blueprint.yaml": BLUEPRINT_YAML},
            ),
            "link",
        ),
        (make_tar([_file("../../x")], {"../../x": b"x"}), "outside"),
        (
            make_zip(
                {f"template/f{i}": b"" for i in range(60)} | {"blueprint.yaml": BLUEPRINT_YAML}
            ),
            "entries",
        ),
        (make_zip({**TEMPLATE, "template/zeros": b"\0" * 3_000_000}), "expands"),
        (b"not an archive at all", "not a zip or tar"),
        (make_zip({"template/a": b"x"}), "blueprint"),
    ],
)
def test_unsafe_archives_are_refused(api: Api, data: bytes, needle: str) -> None:
    from codeforge.app import registry

    ctx = api.client.app.state.ctx  # type: ignore[attr-defined]
    object.__setattr__(
        ctx, "config", __import__("dataclasses").replace(ctx.config, archive_max_entries=50)
    )
    response = upload(api, data)
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    assert needle in response.text  # type: ignore[attr-defined]
    assert (
        not list(ctx.config.blueprint_dir.glob("*")) if ctx.config.blueprint_dir.exists() else True
    )
    assert registry is not None


def test_upload_over_the_cap_is_413(api: Api) -> None:
    response = upload(api, b"x" * (21 * 1024 * 1024))
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert response.json()["error"] == "too_large"  # type: ignore[attr-defined]


BOUNDARY = "codeforge-test-boundary"


def _stored_zip(files: dict[str, bytes]) -> bytes:
    """A zip without compression: its size grows byte for byte with its members'."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in files.items():
            archive.writestr(f"team-lib-main/{name}", content)
    return buffer.getvalue()


def _multipart(archive: bytes) -> bytes:
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="archive"; filename="bp.zip"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode()
    return head + archive + f"\r\n--{BOUNDARY}--\r\n".encode()


def _body_of_size(size: int) -> bytes:
    """A multipart upload of a valid blueprint archive, exactly ``size`` bytes in all."""
    files = {**TEMPLATE, "pad.bin": b""}
    files["blueprint.yaml"] = BLUEPRINT_YAML.replace(b"tasks:\n  - command: [touch, PWNED]\n", b"")
    base = len(_multipart(_stored_zip(files)))
    files["pad.bin"] = b"\0" * (size - base)
    body = _multipart(_stored_zip(files))
    assert len(body) == size
    return body


def test_upload_cap_boundary_counts_declared_and_streamed_bytes(api: Api) -> None:
    cap = api.client.app.state.ctx.config.max_upload_bytes  # type: ignore[attr-defined]
    headers = {**api.maya.headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    path = f"{V1}/blueprints/upload"
    at_cap = _body_of_size(cap)
    accepted = api.client.post(path, content=at_cap, headers=headers)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["name"] == "team-lib"
    over = _body_of_size(cap + 1)
    declared = api.client.post(path, content=over, headers=headers)
    assert declared.status_code == 413 and declared.json()["error"] == "too_large"

    def streamed(body: bytes) -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    refused = api.client.post(path, content=streamed(over), headers=headers)
    assert refused.status_code == 413, refused.text
    assert f"larger than {cap} bytes" in refused.json()["message"]
    again = api.client.post(path, content=streamed(at_cap), headers=headers)
    assert again.status_code in (200, 201), again.text  # the same archive: already registered


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("https://localhost/team/bp.git", "127.0.0.1"),
        ("https://127.0.0.1/bp.git", "loopback"),
        ("https://10.1.2.3/bp.git", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1]/bp.git", "::1"),
        ("https://[::ffff:127.0.0.1]/bp.git", "127.0.0.1"),
        ("https://[2002:7f00:1::]/bp.git", "127.0.0.1"),  # 6to4
        ("https://[2002:a9fe:a9fe::]/latest", "169.254.169.254"),
        ("https://[64:ff9b::7f00:1]/bp.git", "127.0.0.1"),  # NAT64
        ("https://[64:ff9b:1:7f00:0:100::]/bp.git", "127.0.0.1"),  # local-use NAT64
        ("https://[2001:0:7f00:1:0:f5ff:80ff:fffe]/bp.git", "127.0.0.1"),  # Teredo
        ("https://[::127.0.0.1]/bp.git", "127.0.0.1"),  # IPv4-compatible
        ("http://example.com/bp.git", "only https"),
        ("file:///etc", "only https"),
        ("/srv/blueprints/team", "only https"),
        ("ext::sh -c touch% /tmp/pwned", "control characters"),
        ("--upload-pack=touch /tmp/x", "control characters"),
        ("https://user:secret@example.com/bp.git", "credentials"),
    ],
)
def test_git_urls_are_checked_after_dns(api: Api, url: str, needle: str) -> None:
    response = api.as_(api.maya, "POST", f"{V1}/blueprints", json={"git_url": url})
    assert response.status_code == 422, response.text
    assert needle in response.text
    assert "secret" not in response.text


def test_a_git_server_on_ipv6_loopback_is_refused_without_a_request(
    api: Api, tmp_path: Path
) -> None:
    """The same `git http-backend` on [::1] that the CLI may use (tests/sources/test_addresses.py)
    is never contacted for an API caller: not to register, not for a generate job."""
    from sources.git_support import BlueprintRepo, GitHttpServer

    repo = BlueprintRepo(tmp_path / "work")
    repo.commit("one", "v1.0.0")
    (tmp_path / "srv").mkdir()
    repo.bare(tmp_path / "srv" / "tiny.git")
    with GitHttpServer(tmp_path / "srv", host="::1") as server:
        for scheme, needle in (("https", "resolves to ::1, a loopback"), ("http", "only https")):
            url = f"{scheme}://[::1]:{server.port}/tiny.git"
            registered = api.as_(api.maya, "POST", f"{V1}/blueprints", json={"git_url": url})
            assert registered.status_code == 422, registered.text
            assert needle in registered.json()["message"]
            job = api.as_(
                api.alice,
                "POST",
                f"{V1}/jobs",
                json={"kind": "generate", "template": url, "name": "demo", "answers": {}},
            )
            assert job.status_code == 422, job.text
        wrapped = f"https://[2002:7f00:1::]:{server.port}/tiny.git"
        refused = api.as_(api.maya, "POST", f"{V1}/blueprints", json={"git_url": wrapped})
        assert refused.status_code == 422 and "127.0.0.1" in refused.json()["message"]
        assert server.seen == []
    assert api.as_(api.alice, "GET", f"{V1}/jobs").json() == []


def test_git_unknown_fields_and_bad_refs(api: Api) -> None:
    response = api.as_(
        api.maya, "POST", f"{V1}/blueprints", json={"git_url": "https://x", "branch": "x"}
    )
    assert response.status_code == 422 and "branch" in response.text
    response = api.as_(
        api.maya,
        "POST",
        f"{V1}/blueprints",
        json={"git_url": "https://localhost/x", "ref": "--exec=x"},
    )
    assert response.status_code == 422


def test_uploaded_archives_live_in_the_database_for_every_server(api: Api, tmp_path: Path) -> None:
    """A second server with its own (empty) disk generates from an archive uploaded to the first."""
    import dataclasses

    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from codeforge.api.app import create_app
    from codeforge.db.engine import session_factory
    from codeforge.db.models import BlueprintArchive

    archive_bytes = make_zip(TEMPLATE)
    response = upload(api, archive_bytes)
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    digest = hashlib.sha256(archive_bytes).hexdigest()
    assert response.json()["source"] == f"archive:sha256:{digest}"  # type: ignore[attr-defined]
    with session_factory(api.url).begin() as session:
        rows = list(session.scalars(select(BlueprintArchive)))
        assert [(r.sha256, bytes(r.data), r.size) for r in rows] == [
            (digest, archive_bytes, len(archive_bytes))
        ]
    # Uploading it again stores nothing new.
    assert upload(api, archive_bytes).status_code == 201  # type: ignore[attr-defined]
    with session_factory(api.url).begin() as session:
        assert len(list(session.scalars(select(BlueprintArchive)))) == 1

    first = api.client.app.state.ctx.settings  # type: ignore[attr-defined]
    other = dataclasses.replace(
        first, data_dir=tmp_path / "other-data", cache_dir=tmp_path / "other-cache"
    )
    with TestClient(create_app(other)) as server_b:
        made = server_b.post(
            f"{V1}/projects/generate",
            headers=api.bob.headers,
            json={"template": "team-lib", "name": "t2"},
        )
        assert made.status_code == 200, made.text
        with zipfile.ZipFile(io.BytesIO(made.content)) as archive:
            assert archive.read("t2/README.md") == b"# t2: hello\n"
    assert not (tmp_path / "other-data" / "blueprint-archives").exists()
    assert any((tmp_path / "other-cache" / "registered").iterdir())


def test_a_missing_stored_archive_is_404(api: Api) -> None:
    from sqlalchemy import delete

    from codeforge.db.engine import session_factory
    from codeforge.db.models import BlueprintArchive

    assert upload(api, make_zip(TEMPLATE)).status_code == 201  # type: ignore[attr-defined]
    with session_factory(api.url).begin() as session:
        session.execute(delete(BlueprintArchive))
    shutil.rmtree(api.client.app.state.ctx.config.blueprint_dir)  # type: ignore[attr-defined]
    gone = api.as_(
        api.alice, "POST", f"{V1}/projects/generate", json={"template": "team-lib", "name": "t"}
    )
    assert gone.status_code == 404
    assert "no longer stored" in gone.json()["message"]


def _peak_rss(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc")


def _stream_upload(port: int, key: str, total: int) -> tuple[int, bytes]:
    """POST ``total`` bytes of chunked upload while reading; (bytes the server took, reply)."""
    import socket
    import threading

    reply = bytearray()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)

    def read() -> None:
        try:
            while chunk := sock.recv(65536):
                reply.extend(chunk)
        except OSError:
            pass

    reader = threading.Thread(target=read)
    reader.start()
    head = (
        f"POST {V1}/blueprints/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {key}\r\nTransfer-Encoding: chunked\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
    ).encode()
    block = b"\0" * (1 << 20)
    sent = 0
    try:
        sock.sendall(head)
        first = _multipart(b"")[:-20]  # the part's headers, then zeros as its content
        sock.sendall(b"%x\r\n%s\r\n" % (len(first), first))
        while sent < total:
            sock.sendall(b"%x\r\n%s\r\n" % (len(block), block))
            sent += len(block)
    except OSError:  # timed out (no longer read), reset or closed: the server stopped
        pass
    reader.join(timeout=20)
    sock.close()
    return sent, bytes(reply)


def test_the_server_stops_reading_an_upload_at_the_cap(tmp_path: Path) -> None:
    """A 200 MiB chunked upload to a real server: 413 at the 20 MiB cap, memory flat."""
    from jobs.cluster_support import base_env, start_server
    from postgres_support import free_port

    from .conftest import make_caller

    url = f"sqlite:///{tmp_path / 'api.db'}"
    from codeforge.db.migrate import ensure_schema

    ensure_schema(url)
    maya = make_caller(url, "maya", "maintainer")
    port = free_port()
    server = start_server("serve", port, base_env(CODEFORGE_DATABASE_URL=url), tmp_path)
    try:
        before = _peak_rss(server.pid)
        total = 200 << 20
        sent, reply = _stream_upload(port, maya.key, total)
        after = _peak_rss(server.pid)
        assert server.alive()
    finally:
        server.stop()
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b'"too_large"' in reply
    assert sent < total // 2, f"the server read {sent >> 20} MiB of a 20 MiB cap"
    grown = after - before
    print(f"\nsent {sent >> 20} MiB before the server stopped; peak RSS grew {grown >> 20} MiB")
    assert grown < 24 << 20, f"peak RSS grew {grown >> 20} MiB"
