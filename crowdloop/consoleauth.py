"""Requester console sign-in: sessions and one-time links (the console_sessions and console_links tables).

A requester signs in with an API access key pair (crowdloop.keys): the key id must exist and the secret
match, compared in constant time; failures are rate limited by crowdloop.signin's limiter, under
"key:<access key id>" and "ip:<address>". A session is like a portal session (crowdloop.sessions): the
browser holds a random token, the store its SHA-256, the access key and the session's CSRF token; it lasts
SESSION_IDLE after the last request (refreshed at most every TOUCH_EVERY) and never longer than
SESSION_MAX. The secret key is never stored with the session nor handed back. Deleting the key ends its
sessions and links (foreign keys ON DELETE CASCADE).

A one-time link (`create_link`, printed by `serve` and `crowdloop console-link`) holds a random token too
(SHA-256 stored); it is valid LINK_LIFETIME and redeemed once: `redeem_link` marks it used in the statement
that checks it, so two redemptions racing cannot both succeed. Used links are kept until they expire, so a
second use says "already used" rather than "unknown".

    LinkRefused (crowdloop.errors.CrowdloopError)   reason: "unknown" | "used" | "expired"
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

import sqlalchemy as sa

from crowdloop import keys, signin
from crowdloop.errors import CrowdloopError
from crowdloop.runtime import Caller, Services
from crowdloop.store.tables import console_links, console_sessions

SESSION_IDLE = timedelta(hours=12)
SESSION_MAX = timedelta(days=7)
TOUCH_EVERY = timedelta(minutes=5)
LINK_LIFETIME = timedelta(hours=24)
MAX_KEY_ID_CHARS = 128  # the access_keys column
MAX_SECRET_CHARS = 128
MAX_TOKEN_CHARS = 128
_DUMMY_SECRET = secrets.token_urlsafe(30)[:40]  # compared against when the key id is unknown


class LinkRefused(CrowdloopError):
    """A one-time link that cannot be redeemed; reason: "unknown", "used" or "expired"."""

    def __init__(self, reason: str) -> None:
        messages = {
            "unknown": "This sign-in link is not valid. Ask for a new one with `crowdloop console-link`.",
            "used": "This sign-in link has been used already: each link signs in once. Ask for a new one with "
            "`crowdloop console-link`, or sign in with your access key.",
            "expired": "This sign-in link has expired (links are valid for 24 hours). Ask for a new one with "
            "`crowdloop console-link`, or sign in with your access key.",
        }
        super().__init__(messages[reason])
        self.reason = reason


@dataclass(frozen=True)
class ConsoleSession:
    access_key_id: str
    account_id: str
    csrf_token: str

    def caller(self, region: str) -> Caller:
        """Who the console's domain calls are made as: the key's account, in the server's region."""
        return Caller(account=self.account_id, region=region, access_key_id=self.access_key_id)


class Outcome(Enum):
    SIGNED_IN = "signed-in"
    WRONG = "wrong"  # unknown key id or wrong secret
    LIMITED = "limited"  # too many failures: retry_after_seconds


@dataclass(frozen=True)
class SignInResult:
    outcome: Outcome
    token: str = ""  # the session cookie's value when signed in
    session: ConsoleSession | None = None
    retry_after_seconds: int = 0


def sign_in(svc: Services, access_key_id: str, secret_access_key: str, ip: str) -> SignInResult:
    """Check an access key pair (rate limited) and start a session for it."""
    access_key_id = access_key_id.strip()[:MAX_KEY_ID_CHARS].replace("\0", "\ufffd")
    subjects = (f"key:{access_key_id}", f"ip:{ip}"[:400])
    retry_after = signin.retry_after(svc, subjects)
    if retry_after:
        return SignInResult(Outcome.LIMITED, retry_after_seconds=retry_after)
    key = keys.get_key(svc.store, access_key_id) if access_key_id else None
    expected = key.secret_access_key if key is not None else _DUMMY_SECRET
    given = secret_access_key.strip()[:MAX_SECRET_CHARS]
    matches = hmac.compare_digest(expected.encode(), given.encode())
    if key is None or not matches or key.account_id != svc.settings.account_id:
        signin.record_failure(svc, subjects)
        return SignInResult(Outcome.WRONG)
    signin.clear_failures(svc, subjects[0])
    token, session = start_session(svc, key.access_key_id)
    return SignInResult(Outcome.SIGNED_IN, token=token, session=session)


def start_session(svc: Services, access_key_id: str) -> tuple[str, ConsoleSession]:
    """A new session for the key: (cookie token, session). The key's expired sessions are purged."""
    key = keys.get_key(svc.store, access_key_id)
    if key is None:
        raise LinkRefused("unknown")
    token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    s = console_sessions
    with svc.store.write() as conn:
        now = svc.clock.now()
        conn.execute(s.delete().where(s.c.access_key_id == access_key_id, s.c.expires_at <= now))
        conn.execute(
            s.insert().values(
                token_sha256=_digest(token),
                access_key_id=access_key_id,
                csrf_token=csrf_token,
                created_at=now,
                last_seen_at=now,
                expires_at=now + SESSION_IDLE,
            )
        )
    return token, ConsoleSession(access_key_id, key.account_id, csrf_token)


def load_session(svc: Services, token: str | None) -> ConsoleSession | None:
    """The live session for a cookie token, or None (unknown, expired, or its key is gone)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    s = console_sessions
    digest = _digest(token)
    with svc.store.read() as conn:
        now = svc.clock.now()
        row = conn.execute(sa.select(s).where(s.c.token_sha256 == digest)).first()
    if row is None:
        return None
    if row.expires_at <= now:
        end_session(svc, token)
        return None
    key = keys.get_key(svc.store, row.access_key_id)
    if key is None:  # deleted since (the cascade removes the row with it)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        expires_at = min(now + SESSION_IDLE, row.created_at + SESSION_MAX)
        with svc.store.write() as conn:
            conn.execute(s.update().where(s.c.token_sha256 == digest).values(last_seen_at=now, expires_at=expires_at))
    return ConsoleSession(row.access_key_id, key.account_id, row.csrf_token)


def end_session(svc: Services, token: str) -> None:
    with svc.store.write() as conn:
        conn.execute(console_sessions.delete().where(console_sessions.c.token_sha256 == _digest(token)))


def create_link(svc: Services, access_key_id: str) -> str:
    """A one-time sign-in link's token for the key (valid LINK_LIFETIME). Expired links are purged."""
    token = secrets.token_urlsafe(32)
    links = console_links
    with svc.store.write() as conn:
        now = svc.clock.now()
        conn.execute(links.delete().where(links.c.expires_at <= now))
        conn.execute(
            links.insert().values(
                token_sha256=_digest(token), access_key_id=access_key_id, created_at=now, expires_at=now + LINK_LIFETIME
            )
        )
    return token


def redeem_link(svc: Services, token: str) -> tuple[str, ConsoleSession]:
    """Use a one-time link: a new session (cookie token, session), or LinkRefused."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise LinkRefused("unknown")
    links, digest = console_links, _digest(token)
    with svc.store.write() as conn:
        now = svc.clock.now()
        claimed = conn.execute(
            links.update()
            .where(links.c.token_sha256 == digest, links.c.used_at.is_(None), links.c.expires_at > now)
            .values(used_at=now)
            .returning(links.c.access_key_id)
        ).first()
        if claimed is None:
            row = conn.execute(sa.select(links.c.used_at).where(links.c.token_sha256 == digest)).first()
    if claimed is None:
        raise LinkRefused("unknown" if row is None else "used" if row.used_at is not None else "expired")
    return start_session(svc, claimed.access_key_id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
