"""Queries over users' integration credentials; every one is scoped to its owner."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from codeforge.db.models import Credential, utcnow


def list_credentials(session: Session, user_id: int) -> Sequence[Credential]:
    """The user's credentials, by provider, host and name."""
    query = (
        select(Credential)
        .where(Credential.user_id == user_id)
        .order_by(Credential.provider, Credential.host, Credential.name)
    )
    return session.scalars(query).all()


def find_credential(
    session: Session, user_id: int, provider: str, host: str, name: str
) -> Credential | None:
    """The user's credential for (provider, host, name); another user's is never found."""
    query = select(Credential).where(
        Credential.user_id == user_id,
        Credential.provider == provider,
        Credential.host == host,
        Credential.name == name,
    )
    return session.scalars(query).one_or_none()


def put_credential(
    session: Session, user_id: int, provider: str, host: str, name: str, secret: str, key_id: str
) -> Credential:
    """Store or replace the sealed token; a replaced one counts as new (``created_at``)."""
    row = find_credential(session, user_id, provider, host, name)
    if row is None:
        row = Credential(user_id=user_id, provider=provider, host=host, name=name)
        session.add(row)
    row.secret, row.key_id = secret, key_id
    row.created_at, row.last_used_at = utcnow(), None
    session.flush()
    return row


def all_credentials(session: Session) -> Sequence[Credential]:
    """Every user's credentials (for re-encryption), locked for update where the backend can."""
    return session.scalars(select(Credential).order_by(Credential.id).with_for_update()).all()
