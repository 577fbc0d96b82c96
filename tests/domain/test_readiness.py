"""`/_crowdloop/ready` (crowdloop.app.readiness_problem): ready only when the store answers at the schema
revision this version needs; an unauthenticated probe learns the kind of problem, never where the store is.
(The database going away under a running server: tests/e2e/test_outage.py.)"""

from __future__ import annotations

import sqlalchemy as sa
from starlette.testclient import TestClient

from crowdloop.app import create_app, readiness_problem
from crowdloop.config import Settings
from crowdloop.store import Store


def _set_revision(store: Store, revision: str) -> None:
    with store.write() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_ready_only_at_this_versions_schema(store: Store) -> None:
    assert readiness_problem(store) is None
    _set_revision(store, "0005")
    assert (
        readiness_problem(store)
        == "not ready: the store's schema is older than this version's (run `crowdloop db upgrade`)"
    )
    _set_revision(store, "0099")  # a rolling upgrade migrated the store ahead of this process: it keeps serving
    assert readiness_problem(store) is None


def test_the_endpoint_answers_503_with_retry_after_when_not_ready(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        ready = client.get("/_crowdloop/ready")
        assert (ready.status_code, ready.text) == (200, "ready")
        _set_revision(app.services.store, "0001")
        refused = client.get("/_crowdloop/ready")
        assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
        assert "older than this version's" in refused.text
        assert settings.data_dir not in refused.text and "sqlite" not in refused.text  # nothing about where
        assert client.get("/_crowdloop/health").status_code == 200  # alive all the same
