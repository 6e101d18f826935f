"""Login sessions for the web page: server-side in Redis, signed cookies without it.

A session holds the user id, the API key it was opened with (None for a password
login), the user's *session epoch* when it was opened, a CSRF token and an expiry.
Whoever checks a session (``codeforge.api.auth``) also checks, in the database,
that the user is enabled, that the epoch is still the user's, and that the key
is still active: so a password change (which bumps the epoch), a disabled user
or a revoked key ends the session at once, on every server, with or without
Redis, even when Redis was down at the time.

* With Redis: the cookie is ``r1.<user tag>.<random id>``; the record lives under
  the SHA-256 of that id (the id itself is never stored), with a TTL, and each user
  has an index of their session hashes so all of them can be deleted at once.
  Logout deletes the record. The user tag (an HMAC of the user id with the server
  secret, which says nothing of the user) is the keys' Redis Cluster hash tag: a
  user's records and index share one slot, so the MULTI that writes both works on a
  cluster. Cookies made before tags (``r1.<random id>``) are still read.
* Without Redis (or while it is down): the cookie is ``s1.<payload>.<HMAC>``,
  signed with the server secret; the expiry is inside the signed payload. Logout
  bumps the user's epoch (this ends all of that user's sessions: the signed
  kind cannot be forgotten one by one).

The server secret comes from ``CODEFORGE_SECRET_KEY`` or a file made once in the
data folder (``secret_key``, mode 0600). Passwords use scrypt with a per-user salt.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from codeforge.cache.connection import call
from codeforge.errors import RedisUnavailable, UsageError

SECRET_FILE: Final = "secret_key"  # noqa: S105 - a file name
MIN_SECRET: Final = 32
DEFAULT_TTL: Final = 8 * 3600
MAX_COOKIE: Final = 4096

# -- the server secret ----------------------------------------------------------------


def server_secret(data_dir: Path, env: Mapping[str, str] | None = None) -> bytes:
    """``CODEFORGE_SECRET_KEY``, else the secret file in ``data_dir`` (made on first use)."""
    env = os.environ if env is None else env
    value = env.get("CODEFORGE_SECRET_KEY")
    if value:
        if len(value) < MIN_SECRET:
            raise UsageError(
                f"CODEFORGE_SECRET_KEY is {len(value)} characters; it needs at least {MIN_SECRET}",
                where="CODEFORGE_SECRET_KEY",
                hint='make one with: python -c "import secrets; print(secrets.token_hex(32))"',
            )
        return value.encode()
    path = data_dir / SECRET_FILE
    existing = _read_secret(path)
    if existing is not None:
        return existing
    tmp = data_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic, and fails if another process made it first
        except FileExistsError:
            pass
    except OSError as exc:
        raise UsageError(
            f"cannot create the server secret: {exc.strerror}",
            where=str(path),
            hint="make the data folder writable, or set CODEFORGE_SECRET_KEY",
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    made = _read_secret(path)
    if made is None:
        raise UsageError(f"cannot read the server secret at {path}", where=str(path))
    return made


def _read_secret(path: Path) -> bytes | None:
    try:
        data = path.read_bytes().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read the server secret: {exc.strerror}", where=str(path)) from exc
    if len(data) < MIN_SECRET:
        raise UsageError(
            f"the server secret is shorter than {MIN_SECRET} characters",
            where=str(path),
            hint="delete the file to have a new one made (this ends all signed sessions)",
        )
    return data


# -- passwords --------------------------------------------------------------------------

_SCRYPT_N: Final = 2**14
_SCRYPT_R: Final = 8
_SCRYPT_P: Final = 1
MIN_PASSWORD: Final = 8
MAX_PASSWORD: Final = 1024


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password is shorter than {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UsageError(f"the password is longer than {MAX_PASSWORD} characters")


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64), with a new random salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``; a missing or malformed hash never matches.

    Without a stored hash a dummy hash is still computed, so a missing user takes
    as long to refuse as a wrong password.
    """
    if len(password) > MAX_PASSWORD:
        return False
    parts = (stored or "").split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        _scrypt(password, b"\0" * 16, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return False
    if not (2**10 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p), expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=256 * 1024 * 1024,
        dklen=32,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("bad base64") from exc


# -- sessions -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class SessionData:
    user_id: int
    key_id: int | None  # the API key the session was opened with; None: password login
    epoch: int  # the user's session epoch when it was opened
    csrf: str
    expires_at: float  # Unix time

    def to_json(self) -> dict[str, Any]:
        return {
            "u": self.user_id,
            "k": self.key_id,
            "e": self.epoch,
            "c": self.csrf,
            "x": self.expires_at,
        }

    @classmethod
    def from_json(cls, data: object) -> SessionData | None:
        if not isinstance(data, dict):
            return None
        user, key, epoch, csrf, expires = (data.get(k) for k in ("u", "k", "e", "c", "x"))
        if not (
            isinstance(user, int)
            and (key is None or isinstance(key, int))
            and isinstance(epoch, int)
            and isinstance(csrf, str)
            and isinstance(expires, int | float)
        ):
            return None
        return cls(user, key, epoch, csrf, float(expires))


class SessionStore:
    """Creates, reads and ends sessions; Redis when ``redis_url`` is set, signed cookies otherwise."""

    def __init__(
        self,
        secret: bytes,
        *,
        redis_url: str | None = None,
        ttl: float = DEFAULT_TTL,
        prefix: str = "codeforge:",
    ) -> None:
        self._key = hashlib.sha256(b"codeforge-session\0" + secret).digest()
        self.redis_url = redis_url
        self.ttl = ttl
        self.prefix = f"{prefix}sess:"

    def _user_tag(self, user_id: int) -> str:
        return hmac.new(self._key, f"user\0{user_id}".encode(), hashlib.sha256).hexdigest()[:16]

    def _record_key(self, sid: str) -> str:
        digest = hashlib.sha256(sid.encode()).hexdigest()
        tag, dot, _ = sid.partition(".")
        if dot and tag:
            return f"{self.prefix}{{{tag}}}:{digest}"
        return self.prefix + digest  # a session made before hash tags

    def _user_index(self, user_id: int) -> str:
        return f"{self.prefix}{{{self._user_tag(user_id)}}}:user"

    # -- create ----------------------------------------------------------------------

    def create(
        self, user_id: int, epoch: int, key_id: int | None = None
    ) -> tuple[str, SessionData]:
        """A new session: (cookie value, its data). Redis when up, else a signed cookie."""
        data = SessionData(
            user_id=user_id,
            key_id=key_id,
            epoch=epoch,
            csrf=secrets.token_urlsafe(32),
            expires_at=time.time() + self.ttl,
        )
        if self.redis_url is not None:
            sid = f"{self._user_tag(user_id)}.{secrets.token_urlsafe(32)}"
            try:
                call(self.redis_url, self._store, sid, data)
            except RedisUnavailable:
                pass  # fall back to a signed cookie: logging in still works
            else:
                return f"r1.{sid}", data
        return self._sign(data), data

    def _store(self, client: Any, sid: str, data: SessionData) -> None:
        ttl = max(1, int(self.ttl))
        index = self._user_index(data.user_id)
        record = self._record_key(sid)
        pipe = client.pipeline(transaction=True)
        pipe.set(record, json.dumps(data.to_json()), ex=ttl)
        pipe.sadd(index, record)
        pipe.expire(index, ttl)
        pipe.execute()

    def _sign(self, data: SessionData) -> str:
        payload = _b64(json.dumps({**data.to_json(), "n": secrets.token_hex(8)}).encode())
        return f"s1.{payload}.{_b64(self._mac(payload))}"

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._key, b"s1." + payload.encode(), hashlib.sha256).digest()

    # -- read --------------------------------------------------------------------------

    def read(self, cookie: str) -> SessionData | None:
        """The live session for a cookie value, or None (unknown, forged, expired).

        Raises ``RedisUnavailable`` for a Redis session while Redis is down (the
        caller says so instead of pretending the user logged out).
        """
        if not cookie or len(cookie) > MAX_COOKIE:
            return None
        data: SessionData | None = None
        if cookie.startswith("s1."):
            data = self._verify_signed(cookie)
        elif cookie.startswith("r1.") and self.redis_url is not None:
            raw = call(self.redis_url, lambda client: client.get(self._record_key(cookie[3:])))
            if raw is not None:
                try:
                    data = SessionData.from_json(json.loads(raw))
                except ValueError:
                    data = None
        if data is None or data.expires_at <= time.time():
            return None
        return data

    def _verify_signed(self, cookie: str) -> SessionData | None:
        parts = cookie.split(".")
        if len(parts) != 3:
            return None
        _, payload, tag = parts
        try:
            if not hmac.compare_digest(_unb64(tag), self._mac(payload)):
                return None
            return SessionData.from_json(json.loads(_unb64(payload)))
        except ValueError:
            return None

    # -- end ----------------------------------------------------------------------------

    def delete(self, cookie: str, user_id: int) -> bool:
        """End one Redis session; False when it is a signed one (the caller bumps the epoch)."""
        if not cookie.startswith("r1.") or self.redis_url is None:
            return False
        record = self._record_key(cookie[3:])

        def remove(client: Any) -> None:
            pipe = client.pipeline(transaction=True)
            pipe.delete(record)
            pipe.srem(self._user_index(user_id), record)
            pipe.execute()

        call(self.redis_url, remove)
        return True

    def revoke_user(self, user_id: int) -> int:
        """Delete every Redis session of ``user_id``; how many. Best effort: the epoch
        bump the caller makes is what guarantees the revocation."""
        if self.redis_url is None:
            return 0
        index = self._user_index(user_id)

        def remove_all(client: Any) -> int:
            records = list(client.smembers(index))
            pipe = client.pipeline(transaction=True)
            if records:
                pipe.delete(*records)
            pipe.delete(index)
            result = pipe.execute()
            return int(result[0]) if records else 0

        try:
            count: int = call(self.redis_url, remove_all)
        except RedisUnavailable:
            return 0
        return count


def session_store(
    data_dir: Path,
    redis_url: str | None,
    *,
    ttl: float = DEFAULT_TTL,
    prefix: str = "codeforge:",
    env: Mapping[str, str] | None = None,
) -> SessionStore:
    """The store for these settings (the secret read or made here)."""
    return SessionStore(server_secret(data_dir, env), redis_url=redis_url, ttl=ttl, prefix=prefix)
