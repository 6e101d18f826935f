"""Artifacts in an S3 bucket (AWS, SeaweedFS, MinIO, Ceph...), through boto3.

``CODEFORGE_ARTIFACTS_URL=s3://bucket/prefix`` selects it (the composition root,
``codeforge.app.artifacts``, asks the plugins for the ``s3`` scheme). The rest
comes from the environment, as every AWS tool reads it:

* credentials: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` (and
  ``AWS_SESSION_TOKEN``), or any other source boto3 knows (profile, instance role);
* region: ``AWS_REGION`` or ``AWS_DEFAULT_REGION`` (``us-east-1`` when unset);
* endpoint of a server that is not AWS: ``CODEFORGE_S3_ENDPOINT_URL``, else
  ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``;
* ``CODEFORGE_S3_PUBLIC_ENDPOINT_URL``: the endpoint put in presigned download
  URLs when clients reach the bucket by another address than the servers do;
* ``CODEFORGE_S3_PRESIGN_SECONDS``: lifetime of a presigned download URL
  (default 300; 0 streams every download through the API instead);
* ``CODEFORGE_S3_ADDRESSING_STYLE``: ``path``, ``virtual`` or ``auto`` (default
  ``path`` with an explicit endpoint, else ``auto``).

Any failure to reach the bucket (refused connection, timeout, 5xx, a refused
signature, a missing bucket) is a ``StoreError``: the API answers 503 with
``Retry-After`` and a job retries, so nothing is lost. A missing object is a
``NotFoundError``. boto3 is imported when the first store is made, never by
``codeforge --help``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
from collections.abc import Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Final, cast
from urllib.parse import urlsplit

from codeforge.core.artifacts import ArtifactStore, artifact_id_for, check_id
from codeforge.errors import ArtifactStoreError, NotFoundError, UsageError
from codeforge.plugins import hookimpl

if TYPE_CHECKING:
    from codeforge.core.artifacts import ArtifactStoreFactory

URL_VAR: Final = "CODEFORGE_ARTIFACTS_URL"
ENDPOINT_VARS: Final = ("CODEFORGE_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
DEFAULT_PRESIGN_SECONDS: Final = 300
_SPOOL_BYTES: Final = 8 * 1024 * 1024
_MISSING: Final = frozenset({"404", "NoSuchKey", "NotFound"})
_DELETE_BATCH: Final = 1000


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key prefix ending in ``/`` or empty) of ``s3://bucket/prefix``."""
    parts = urlsplit(url)
    bucket = parts.netloc
    if parts.scheme != "s3" or not bucket or parts.query or parts.fragment or "@" in bucket:
        raise UsageError(
            f"{url!r} is not an s3://bucket/prefix URL",
            where=URL_VAR,
            hint="credentials go in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, not the URL",
        )
    prefix = parts.path.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def _presign_seconds(env: Mapping[str, str]) -> int:
    raw = env.get("CODEFORGE_S3_PRESIGN_SECONDS", "").strip()
    if not raw:
        return DEFAULT_PRESIGN_SECONDS
    if not raw.isdigit() or int(raw) > 7 * 86400:
        raise UsageError(
            f"{raw!r} is not a number of seconds from 0 to 604800",
            where="CODEFORGE_S3_PRESIGN_SECONDS",
        )
    return int(raw)


def _endpoint(env: Mapping[str, str]) -> str | None:
    return next((env[name] for name in ENDPOINT_VARS if env.get(name)), None)


class _Clients:
    """The boto3 clients of one store, made on first use (a client is thread-safe)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.endpoint = _endpoint(env)
        self.public_endpoint = env.get("CODEFORGE_S3_PUBLIC_ENDPOINT_URL") or self.endpoint
        self.style = env.get("CODEFORGE_S3_ADDRESSING_STYLE") or (
            "path" if self.endpoint else "auto"
        )
        if self.style not in ("path", "virtual", "auto"):
            raise UsageError(
                f"{self.style!r} is not path, virtual or auto",
                where="CODEFORGE_S3_ADDRESSING_STYLE",
            )
        self.region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.credentials = {
            "aws_access_key_id": env.get("AWS_ACCESS_KEY_ID"),
            "aws_secret_access_key": env.get("AWS_SECRET_ACCESS_KEY"),
            "aws_session_token": env.get("AWS_SESSION_TOKEN"),
        }
        self._lock = threading.Lock()
        self._made: dict[str | None, Any] = {}

    def get(self, public: bool = False) -> Any:
        endpoint = self.public_endpoint if public else self.endpoint
        with self._lock:
            client = self._made.get(endpoint)
            if client is None:
                client = self._made[endpoint] = self._make(endpoint)
            return client

    def _make(self, endpoint: str | None) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": self.style},
            # An outage should answer 503 in seconds, not hang a request for a minute.
            connect_timeout=5,
            read_timeout=60,
            retries={"mode": "standard", "max_attempts": 3},
        )
        # A session of its own: boto3's default session is not thread-safe.
        session = boto3.session.Session(region_name=self.region, **self.credentials)
        return session.client("s3", endpoint_url=endpoint, config=config)


class S3ArtifactStore:
    """Artifacts as objects under ``s3://bucket/prefix/``; ids are checked names, as locally."""

    def __init__(self, url: str, env: Mapping[str, str]) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self.url = f"s3://{self.bucket}/{self.prefix}"
        self.presign_seconds = _presign_seconds(env)
        self._clients = _Clients(env)

    def _key(self, artifact_id: str) -> str:
        return self.prefix + check_id(artifact_id)

    def _failed(self, doing: str, exc: Exception, artifact_id: str | None = None) -> Exception:
        """The CodeForge error for a boto3 failure (never with credentials in it)."""
        code = _error_code(exc)
        if artifact_id is not None and code in _MISSING:
            return NotFoundError(
                f"the result {artifact_id} has expired or was removed", where="artifact"
            )
        reason = code or type(exc).__name__
        return ArtifactStoreError(
            f"cannot {doing} the artifact store {self.url}: {reason}",
            where="artifact store",
            hint="the bucket is unreachable or refused the request; retry shortly",
        )

    def put(self, key: str, data: bytes | Iterable[bytes], suffix: str = "bin") -> str:
        artifact_id = artifact_id_for(key, suffix)
        body: bytes | IO[bytes] = data if isinstance(data, bytes) else _spool(data)
        try:
            # One PUT: S3 shows an object whole or not at all, so no temporary name.
            self._clients.get().put_object(
                Bucket=self.bucket, Key=self._key(artifact_id), Body=body
            )
        except Exception as exc:
            raise self._failed("write to", exc) from exc
        finally:
            if not isinstance(body, bytes):
                body.close()
        return artifact_id

    def open(self, artifact_id: str) -> BinaryIO:
        key = self._key(artifact_id)  # an unsafe id is NotFoundError before any request
        try:
            found = self._clients.get().get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._failed("read from", exc, artifact_id) from exc
        return cast(BinaryIO, found["Body"])

    def size(self, artifact_id: str) -> int:
        key = self._key(artifact_id)
        try:
            head = self._clients.get().head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._failed("read from", exc, artifact_id) from exc
        return int(head["ContentLength"])

    def delete(self, artifact_id: str) -> bool:
        try:
            self.size(artifact_id)  # S3's DELETE does not say whether the object existed
        except NotFoundError:
            return False
        try:
            self._clients.get().delete_object(Bucket=self.bucket, Key=self._key(artifact_id))
        except Exception as exc:
            raise self._failed("delete from", exc) from exc
        return True

    def expire(self, older_than: float) -> int:
        """The sweeper's expiry: delete objects under the prefix older than ``older_than`` s."""
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than)
        client = self._clients.get()
        removed = 0
        try:
            pages = client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            old: list[dict[str, str]] = []
            for page in pages:
                for item in page.get("Contents", []):
                    if item["LastModified"] < cutoff and "/" not in item["Key"][len(self.prefix) :]:
                        old.append({"Key": item["Key"]})
            for start in range(0, len(old), _DELETE_BATCH):
                batch = old[start : start + _DELETE_BATCH]
                client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
                removed += len(batch)
        except Exception as exc:
            raise self._failed("expire results in", exc) from exc
        return removed

    def download_url(self, artifact_id: str, disposition: str) -> str | None:
        if self.presign_seconds == 0:
            return None
        self.size(artifact_id)  # 410 when gone and 503 when down, before sending anyone there
        try:
            url = self._clients.get(public=True).generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self._key(artifact_id),
                    "ResponseContentDisposition": disposition,
                },
                ExpiresIn=self.presign_seconds,
            )
        except Exception as exc:
            raise self._failed("sign a download from", exc) from exc
        return str(url)


def _spool(chunks: Iterable[bytes]) -> IO[bytes]:
    """The chunks in a seekable file (in memory up to 8 MiB): S3 wants the length first."""
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - closed by put
    for chunk in chunks:
        spool.write(chunk)
    spool.seek(0)
    return cast(IO[bytes], spool)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or "")
    return ""


def open_store(url: str, env: Mapping[str, str]) -> ArtifactStore:
    """The S3 store for ``s3://bucket/prefix`` (the ``s3`` scheme's factory)."""
    return S3ArtifactStore(url, env)


@hookimpl
def codeforge_artifact_stores() -> Mapping[str, ArtifactStoreFactory]:
    """The ``s3`` scheme of ``CODEFORGE_ARTIFACTS_URL``."""
    return {"s3": open_store}
