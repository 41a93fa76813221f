"""Alembic environment: migrations run on the connection :mod:`kneeback.store.db` hands over.

kneeback runs migrations programmatically (``upgrade head`` whenever a database is opened), inside
the caller's transaction; this file is not meant for the ``alembic`` command line without that
connection.
"""

from __future__ import annotations

from alembic import context

from kneeback.store.models import Base
from kneeback.web import models as _web_models  # noqa: F401  (the web tables, same metadata)

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only the programmatic route is supported
    raise RuntimeError("kneeback migrations run through kneeback.store.db.open_database().")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
