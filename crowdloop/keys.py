"""API access keys (the AWS key pairs boto3 signs with). The first key is created on first start."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

import sqlalchemy as sa

from crowdloop.clock import Clock
from crowdloop.errors import InvalidInput
from crowdloop.store import Store
from crowdloop.store.tables import access_keys

_ID_ALPHABET = string.ascii_uppercase + "234567"


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str
    account_id: str


def ensure_admin_key(store: Store, clock: Clock, account_id: str) -> AccessKey:
    """The oldest key, created now if the store has none (so restarts reuse the same key)."""
    with store.write() as conn:
        row = conn.execute(sa.select(access_keys).order_by(access_keys.c.created_at).limit(1)).first()
        if row is not None:
            return AccessKey(row.access_key_id, row.secret_access_key, row.account_id)
    return create_key(store, clock, account_id)


def create_key(store: Store, clock: Clock, account_id: str) -> AccessKey:
    if not (len(account_id) == 12 and account_id.isdigit()):
        raise InvalidInput(f"Account id '{account_id}' must be 12 digits.", "account_id")
    key = AccessKey(
        access_key_id="AKCL" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16)),
        secret_access_key=secrets.token_urlsafe(30)[:40],
        account_id=account_id,
    )
    with store.write() as conn:
        conn.execute(access_keys.insert().values(
            access_key_id=key.access_key_id, secret_access_key=key.secret_access_key,
            account_id=key.account_id, created_at=clock.now()))
    return key


def list_keys(store: Store) -> list[AccessKey]:
    with store.read() as conn:
        rows = conn.execute(sa.select(access_keys).order_by(access_keys.c.created_at)).all()
    return [AccessKey(r.access_key_id, r.secret_access_key, r.account_id) for r in rows]


def delete_key(store: Store, access_key_id: str) -> bool:
    with store.write() as conn:
        return bool(conn.execute(access_keys.delete().where(access_keys.c.access_key_id == access_key_id))
                    .rowcount)
