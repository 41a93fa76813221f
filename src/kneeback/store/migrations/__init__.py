"""Alembic migrations of the kneeback database (run on open by :mod:`kneeback.store.db`)."""
