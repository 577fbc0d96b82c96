"""crowdloop serves one AWS account: settings.account_id.

Every access key and every resource (task UIs, flow definitions, the workforce, work teams, human loops)
belongs to it; the output folder, the workers and their groups are the server's. Resources stay namespaced
by account in the store, as ARNs need, but only one account is ever used. A store holding another
account's keys or resources (made by an older crowdloop, whose `keys create --account-id` could create
them) is refused at start with the way out, rather than served half-isolated.
"""

from __future__ import annotations

from crowdloop.store import Store
from crowdloop.store.accounts import has_rows_of, rows_of_other_accounts

_KEY_TABLE = "access_keys"


def single_account_problem(store: Store, account_id: str) -> str | None:
    """Why this store cannot be served as account `account_id` (one line saying how to fix it), or None."""
    with store.read() as conn:
        others = dict(sorted(rows_of_other_accounts(conn, account_id).items()))
        if not others:
            return None
        own_rows = has_rows_of(conn, account_id)
    held = "; ".join(f"account {account}: {_counts(tables)}" for account, tables in others.items())
    fixes = []
    if len(others) == 1 and not own_rows:
        fixes.append(
            f"use --account-id {next(iter(others))} (CROWDLOOP_ACCOUNT_ID) if that is the account this store serves"
        )
    if all(set(tables) == {_KEY_TABLE} for tables in others.values()):
        fixes.append("delete those access keys (`crowdloop keys list`, `crowdloop keys delete ACCESS_KEY_ID`)")
    fixes.append("serve a new --data-dir / --database-url")
    choices = ", ".join(fixes[:-1]) + ", or " + fixes[-1] if len(fixes) > 1 else fixes[0]
    return (
        f"crowdloop serves a single account (account_id {account_id}), but this store also holds data of "
        f"another account ({held}): {choices}."
    )


def _counts(tables: dict[str, int]) -> str:
    return ", ".join(f"{table.replace('_', ' ')}: {count}" for table, count in sorted(tables.items()))
