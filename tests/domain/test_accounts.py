"""accounts.single_account_problem: what `serve` and `keys create` refuse, and the way out they print."""

from __future__ import annotations

from crowdloop import flows, keys, workforce
from crowdloop.accounts import single_account_problem
from crowdloop.runtime import Caller, Services

OWN = "123456789012"


def test_a_store_of_the_served_account_only_is_fine(services: Services) -> None:
    assert single_account_problem(services.store, OWN) is None
    keys.create_key(services.store, services.clock, OWN)
    flows.create_human_task_ui(services, Caller(OWN, "eu-west-1"), "ui", "<p>x</p>")
    assert single_account_problem(services.store, OWN) is None


def test_every_other_account_is_named_with_what_it_holds(services: Services) -> None:
    keys.create_key(services.store, services.clock, OWN)
    keys.create_key(services.store, services.clock, "999900001111")
    keys.create_key(services.store, services.clock, "000011112222")
    workforce.list_workteams(services, Caller("000011112222", "us-east-1"))  # provisions its default workforce
    problem = single_account_problem(services.store, OWN)
    assert problem == (
        f"crowdloop serves a single account (account_id {OWN}), but this store also holds data of another "
        "account (account 000011112222: access keys: 1, workforces: 1; account 999900001111: access keys: 1): "
        "serve a new --data-dir / --database-url."
    )
