"""Numbered, append-only schema migrations. Never edit a shipped one: add the next number."""

from __future__ import annotations

import sqlite3
import time

M001_INITIAL = """
CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    name             TEXT,
    description      TEXT NOT NULL,
    model            TEXT NOT NULL,
    image_model      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('active', 'closed', 'expired')),
    created_at       REAL NOT NULL,
    last_activity    REAL NOT NULL,
    closed_at        REAL,
    last_response_id TEXT,
    folder           TEXT NOT NULL,
    use_case         TEXT NOT NULL DEFAULT 'general'
);
CREATE INDEX sessions_status ON sessions (status, last_activity);

CREATE TABLE turns (
    id                   TEXT PRIMARY KEY,
    session_id           TEXT NOT NULL REFERENCES sessions (id),
    seq                  INTEGER NOT NULL,
    prompt               TEXT NOT NULL,
    params_json          TEXT NOT NULL DEFAULT '{}',
    status               TEXT NOT NULL
        CHECK (status IN ('pending', 'completed', 'failed', 'cancelled', 'interrupted')),
    created_at           REAL NOT NULL,
    finished_at          REAL,
    response_id          TEXT,
    previous_response_id TEXT,
    model_text           TEXT NOT NULL DEFAULT '',
    error_type           TEXT,
    error                TEXT,
    usage_json           TEXT NOT NULL DEFAULT '{}',
    UNIQUE (session_id, seq)
);

CREATE TABLE images (
    id             TEXT PRIMARY KEY,
    session_id     TEXT REFERENCES sessions (id),
    turn_id        TEXT REFERENCES turns (id),
    path           TEXT NOT NULL UNIQUE,
    sha256         TEXT NOT NULL,
    file_size      INTEGER NOT NULL,
    width          INTEGER NOT NULL,
    height         INTEGER NOT NULL,
    mime_type      TEXT NOT NULL,
    use_case       TEXT NOT NULL,
    prompt         TEXT NOT NULL,
    revised_prompt TEXT,
    model          TEXT NOT NULL,
    response_id    TEXT,
    created_at     REAL NOT NULL,
    metadata_json  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX images_session ON images (session_id, created_at);
CREATE INDEX images_created ON images (created_at);
"""

M002_JOBS = """
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL
        CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
    session_id  TEXT,
    created_at  REAL NOT NULL,
    finished_at REAL,
    message     TEXT NOT NULL DEFAULT '',
    error_type  TEXT,
    error       TEXT,
    result_json TEXT
);
CREATE INDEX jobs_status ON jobs (status);
"""

M003_UPLOADS_AND_SEEDS = """
CREATE TABLE uploads (
    file_id    TEXT PRIMARY KEY,
    session_id TEXT,
    sha256     TEXT NOT NULL,
    bytes      INTEGER NOT NULL,
    created_at REAL NOT NULL,
    deleted_at REAL
);
CREATE INDEX uploads_session ON uploads (session_id, sha256);
ALTER TABLE sessions ADD COLUMN pending_image_id TEXT;
ALTER TABLE sessions ADD COLUMN style_series TEXT;
"""

M004_FILE_JOURNAL = """
CREATE TABLE pending_files (
    path       TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);
"""

M005_OWNERS = """
ALTER TABLE sessions ADD COLUMN owner TEXT NOT NULL DEFAULT 'local';
ALTER TABLE turns ADD COLUMN owner TEXT NOT NULL DEFAULT 'local';
ALTER TABLE images ADD COLUMN owner TEXT NOT NULL DEFAULT 'local';
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT 'local';
ALTER TABLE uploads ADD COLUMN owner TEXT NOT NULL DEFAULT 'local';
CREATE INDEX sessions_owner ON sessions (owner, status, last_activity);
CREATE INDEX images_owner ON images (owner, created_at);
"""

M006_LEDGER = """
CREATE TABLE ledger (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('call', 'reservation')),
    owner          TEXT NOT NULL,
    created_at     REAL NOT NULL,
    cost_usd       REAL,
    prices_checked TEXT NOT NULL DEFAULT '',
    tool           TEXT NOT NULL DEFAULT '',
    session_id     TEXT,
    job_id         TEXT,
    mainline_model TEXT,
    image_model    TEXT,
    tokens_json    TEXT NOT NULL DEFAULT '{}',
    outcome        TEXT NOT NULL DEFAULT 'ok'
);
CREATE INDEX ledger_time ON ledger (created_at);
CREATE INDEX ledger_owner ON ledger (owner, created_at);
"""

M007_LEDGER_SUMS = """
CREATE INDEX ledger_time_cost ON ledger (created_at, cost_usd);
CREATE INDEX ledger_owner_time_cost ON ledger (owner, created_at, cost_usd);
"""

M008_LEDGER_DAYS = """
CREATE TABLE ledger_days (
    owner TEXT NOT NULL,
    day   TEXT NOT NULL,
    usd   REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (owner, day)
);
CREATE INDEX ledger_days_day ON ledger_days (day);
INSERT INTO ledger_days (owner, day, usd)
    SELECT owner, strftime('%Y-%m-%d', created_at, 'unixepoch'), sum(coalesce(cost_usd, 0))
    FROM ledger GROUP BY owner, strftime('%Y-%m-%d', created_at, 'unixepoch');
"""

M009_REPLICAS = """
ALTER TABLE sessions ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;
ALTER TABLE turns ADD COLUMN replica TEXT NOT NULL DEFAULT 'local';
ALTER TABLE jobs ADD COLUMN replica TEXT NOT NULL DEFAULT 'local';
ALTER TABLE pending_files ADD COLUMN replica TEXT NOT NULL DEFAULT 'local';
CREATE INDEX turns_pending ON turns (status, replica);
CREATE INDEX jobs_running ON jobs (status, replica);
"""

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "initial schema: sessions, turns, images", M001_INITIAL),
    (2, "generation jobs", M002_JOBS),
    (3, "uploaded files, promoted and style-series sessions", M003_UPLOADS_AND_SEEDS),
    (4, "write-ahead journal of image files", M004_FILE_JOURNAL),
    (5, "an owner on every session, turn, image, job and upload (local for existing rows)", M005_OWNERS),
    (6, "the cost ledger: one row per OpenAI call, and reservations of calls in flight", M006_LEDGER),
    (7, "covering indexes for the budget sums", M007_LEDGER_SUMS),
    (8, "running totals of the ledger per owner and UTC day, for budget checks of constant cost", M008_LEDGER_DAYS),
    (
        9,
        "replicas of pending turns, running jobs and journal entries (local for old rows); session fences",
        M009_REPLICAS,
    ),
]


def apply(conn: sqlite3.Connection) -> list[int]:
    """Apply every migration not yet recorded; returns the numbers applied."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations"
        " (number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT number FROM _migrations")}
    applied: list[int] = []
    for number, name, sql in MIGRATIONS:
        if number in done:
            continue
        script = f"BEGIN;\n{sql}\nINSERT INTO _migrations VALUES ({number}, '{name}', {time.time()});\nCOMMIT;"
        conn.executescript(script)
        applied.append(number)
    return applied
