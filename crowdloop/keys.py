"""API access keys (the AWS key pairs boto3 signs with). The first key is created on first start.

crowdloop serves one account (settings.account_id): `ensure_admin_key` and the CLI only make keys of that
account, and the SigV4 check refuses keys of any other (which only an older version could have stored).
"""

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
# How long a server may keep using a key it read before (crowdloop.aws.sigv4.KeyCache re-reads it after
# this): a deleted key stops working within this time.
KEY_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str
    account_id: str


def ensure_admin_key(store: Store, clock: Clock, account_id: str) -> tuple[AccessKey, bool]:
    """The account's oldest key and False, or a key created now and True (so restarts reuse one key)."""
    key = admin_key(store, account_id)
    if key is not None:
        return key, False
    return create_key(store, clock, account_id), True


def admin_key(store: Store, account_id: str) -> AccessKey | None:
    """The account's oldest key (the one `serve` created on first start unless it was deleted)."""
    query = (
        sa.select(access_keys)
        .where(access_keys.c.account_id == account_id)
        .order_by(access_keys.c.created_at, access_keys.c.access_key_id)
        .limit(1)
    )
    with store.read() as conn:
        row = conn.execute(query).first()
    return None if row is None else AccessKey(row.access_key_id, row.secret_access_key, row.account_id)


def get_key(store: Store, access_key_id: str) -> AccessKey | None:
    with store.read() as conn:
        row = conn.execute(sa.select(access_keys).where(access_keys.c.access_key_id == access_key_id)).first()
    return None if row is None else AccessKey(row.access_key_id, row.secret_access_key, row.account_id)


def create_key(store: Store, clock: Clock, account_id: str) -> AccessKey:
    if not (len(account_id) == 12 and account_id.isdigit()):
        raise InvalidInput(f"Account id '{account_id}' must be 12 digits.", "account_id")
    key = AccessKey(
        access_key_id="AKCL" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16)),
        secret_access_key=secrets.token_urlsafe(30)[:40],
        account_id=account_id,
    )
    with store.write() as conn:
        conn.execute(
            access_keys.insert().values(
                access_key_id=key.access_key_id,
                secret_access_key=key.secret_access_key,
                account_id=key.account_id,
                created_at=clock.now(),
            )
        )
    return key


def list_keys(store: Store) -> list[AccessKey]:
    with store.read() as conn:
        rows = conn.execute(sa.select(access_keys).order_by(access_keys.c.created_at)).all()
    return [AccessKey(r.access_key_id, r.secret_access_key, r.account_id) for r in rows]


def delete_key(store: Store, access_key_id: str) -> bool:
    with store.write() as conn:
        return bool(conn.execute(access_keys.delete().where(access_keys.c.access_key_id == access_key_id)).rowcount)
