"""crowdloop serves one AWS account: settings.account_id.

Every access key and every resource (task UIs, flow definitions, the workforce, work teams, human loops)
belongs to it; the output folder, the workers and their groups are the server's. Resources stay namespaced
by account in the store, as ARNs need, but only one account is ever used. A store holding another
account's keys or resources (made by an older crowdloop, whose `keys create --account-id` could create
them) is refused at start with the way out, rather than served half-isolated.
"""

from __future__ import annotations

from crowdloop.store import Store
from crowdloop.store.accounts import rows_per_account

_KEY_TABLE = "access_keys"


def single_account_problem(store: Store, account_id: str) -> str | None:
    """Why this store cannot be served as account `account_id` (one line saying how to fix it), or None."""
    with store.read() as conn:
        found = rows_per_account(conn)
    others = {account: tables for account, tables in sorted(found.items()) if account != account_id}
    if not others:
        return None
    held = "; ".join(f"account {account}: {_counts(tables)}" for account, tables in others.items())
    fixes = []
    if len(others) == 1 and account_id not in found:
        fixes.append(f"start with --account-id {next(iter(others))} (CROWDLOOP_ACCOUNT_ID) if that is the "
                     f"account to serve")
    if all(set(tables) == {_KEY_TABLE} for tables in others.values()):
        fixes.append("delete those access keys (`crowdloop keys list`, `crowdloop keys delete ACCESS_KEY_ID`)")
    fixes.append("or serve a new --data-dir / --database-url")
    return (f"crowdloop serves a single account (account_id {account_id}), but this store also holds data of "
            f"another account ({held}): {', '.join(fixes)}.")


def _counts(tables: dict[str, int]) -> str:
    return ", ".join(f"{table.replace('_', ' ')}: {count}" for table, count in sorted(tables.items()))
