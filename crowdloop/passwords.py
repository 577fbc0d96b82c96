"""Worker password hashing (argon2id)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_hash() -> str:
    """A hash with the same parameters as real ones, for sign-ins that have no hash to check (unknown
    email, no password set): verifying against it costs the same time. Computed once per process
    (create_portal warms it, so no sign-in pays for hashing it)."""
    return _hasher.hash("not the password of anyone")
