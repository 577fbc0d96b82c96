"""Alembic environment: runs crowdloop's migrations against the URL the Store was opened with."""

from alembic import context
from sqlalchemy import create_engine, pool

from crowdloop.store.engine import engine_arguments
from crowdloop.store.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url is not None
engine_url, connect_args = engine_arguments(url)  # a PostgreSQL URL's prepare_threshold is crowdloop's to read
connectable = create_engine(engine_url, poolclass=pool.NullPool, connect_args=connect_args)
with connectable.connect() as connection:
    context.configure(
        connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite"
    )
    with context.begin_transaction():
        context.run_migrations()
connectable.dispose()
