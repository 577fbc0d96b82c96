"""Worker password hashing (argon2id), injectable: `Services.passwords` is a `PasswordHasher`.

Production uses argon2-cffi's default parameters (RFC 9106 low-memory profile: time_cost 3, 64 MiB,
parallelism 4). Tests build their Services with `CHEAPEST` (time_cost 1, 8 KiB, parallelism 1), which
only tests may use. Verifying follows the parameters written in the stored hash, so a hash made by
either hasher verifies with the other.
"""

from __future__ import annotations

import threading

import argon2
from argon2.exceptions import InvalidHashError, VerificationError


class PasswordHasher:
    """Hashes and verifies worker passwords with one set of argon2id parameters."""

    def __init__(self, parameters: argon2.Parameters | None = None) -> None:
        self._argon2 = (
            argon2.PasswordHasher() if parameters is None else argon2.PasswordHasher.from_parameters(parameters)
        )
        self._dummy: str | None = None
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def dummy_hash(self) -> str:
        """A hash with this hasher's parameters, for sign-ins that have no hash to check (unknown email,
        no password set): verifying against it costs the same time as a real one. Computed once per
        hasher (create_portal warms it, so no sign-in pays for hashing it)."""
        with self._lock:
            if self._dummy is None:
                self._dummy = self.hash("not the password of anyone")
            return self._dummy


# argon2's cheapest parameters with the default salt and hash lengths: for tests only.
CHEAPEST = argon2.Parameters(
    type=argon2.Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=8, parallelism=1
)
