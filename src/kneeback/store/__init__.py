"""The store: people, sessions, reps, findings, artifacts, outcomes and program state.

SQLAlchemy 2 models (:mod:`kneeback.store.models`), Alembic migrations run on open
(:mod:`kneeback.store.db`), and units of work, each one transaction
(:mod:`kneeback.store.sessions`, :mod:`kneeback.store.program_state`,
:mod:`kneeback.store.forget`).
"""

from __future__ import annotations

from kneeback.store.db import (
    DATABASE_URL_ENV,
    Database,
    default_database_url,
    open_database,
    resolve_database_url,
)
from kneeback.store.export_file import export_text
from kneeback.store.forget import forget_person, forget_session, session_to_forget
from kneeback.store.program_state import override_stage, program_status
from kneeback.store.sessions import (
    artifact_paths,
    export_person,
    import_person,
    list_people,
    person_history,
    record_outcome,
    store_session,
)

__all__ = [
    "DATABASE_URL_ENV",
    "Database",
    "artifact_paths",
    "default_database_url",
    "export_person",
    "export_text",
    "forget_person",
    "forget_session",
    "import_person",
    "list_people",
    "open_database",
    "override_stage",
    "person_history",
    "program_status",
    "record_outcome",
    "resolve_database_url",
    "session_to_forget",
    "store_session",
]
