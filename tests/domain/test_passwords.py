"""The injectable password hasher: production parameters by default, the cheapest ones in tests."""

from __future__ import annotations

from crowdloop.passwords import CHEAPEST, PasswordHasher
from crowdloop.runtime import Services


def test_production_parameters_by_default() -> None:
    hasher = PasswordHasher()
    stored = hasher.hash("pw")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert hasher.verify(stored, "pw") and not hasher.verify(stored, "other")
    assert not hasher.verify("not a hash", "pw")


def test_cheap_hashes_verify_anywhere() -> None:
    cheap, production = PasswordHasher(CHEAPEST), PasswordHasher()
    stored = cheap.hash("pw")
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert production.verify(stored, "pw")  # verifying follows the parameters stored in the hash


def test_the_dummy_hash_has_the_hashers_parameters() -> None:
    cheap = PasswordHasher(CHEAPEST)
    assert cheap.dummy_hash().startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert cheap.dummy_hash() is cheap.dummy_hash()


def test_the_test_services_hash_cheaply(services: Services) -> None:
    assert services.passwords.hash("pw").startswith("$argon2id$v=19$m=8,t=1,p=1$")
