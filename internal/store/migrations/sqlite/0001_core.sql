-- codedesk core schema: mailbox checkpoints, cases, messages, analyses,
-- drafts and the audit trail. Times are UTC text (sortable); JSON is text.

CREATE TABLE mailbox_checkpoints (
    mailbox      TEXT PRIMARY KEY,
    uid_validity INTEGER NOT NULL,
    last_uid     INTEGER NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

CREATE TABLE cases (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    subject           TEXT NOT NULL DEFAULT '',
    requester         TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL,
    status_reason     TEXT NOT NULL DEFAULT '',
    kind              TEXT NOT NULL DEFAULT '',
    confidence        REAL,
    assignee          TEXT NOT NULL DEFAULT '',
    linked_case_id    INTEGER REFERENCES cases (id),
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    first_response_at TIMESTAMP
);
CREATE INDEX cases_status_updated ON cases (status, updated_at);
CREATE INDEX cases_updated ON cases (updated_at);

CREATE TABLE case_participants (
    case_id INTEGER NOT NULL REFERENCES cases (id),
    address TEXT NOT NULL,
    PRIMARY KEY (case_id, address)
);

CREATE TABLE messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id       INTEGER REFERENCES cases (id),
    direction     TEXT NOT NULL,
    mailbox       TEXT NOT NULL DEFAULT '',
    uid_validity  INTEGER,
    uid           INTEGER,
    message_id    TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    in_reply_to   TEXT NOT NULL DEFAULT '',
    refs          TEXT NOT NULL DEFAULT '',
    subject       TEXT NOT NULL DEFAULT '',
    from_addr     TEXT NOT NULL DEFAULT '',
    from_name     TEXT NOT NULL DEFAULT '',
    date          TIMESTAMP,
    size          INTEGER NOT NULL DEFAULT 0,
    raw           BLOB,
    truncated     BOOLEAN NOT NULL DEFAULT FALSE,
    body_text     TEXT NOT NULL DEFAULT '',
    question_text TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    status_reason TEXT NOT NULL DEFAULT '',
    received_at   TIMESTAMP NOT NULL,
    parsed_at     TIMESTAMP
);
CREATE UNIQUE INDEX messages_imap_uid ON messages (mailbox, uid_validity, uid) WHERE uid IS NOT NULL;
CREATE UNIQUE INDEX messages_dedupe ON messages (mailbox, message_id, content_hash);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_case ON messages (case_id, id);

CREATE TABLE analyses (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    message_id INTEGER NOT NULL REFERENCES messages (id),
    kind       TEXT NOT NULL,
    confidence REAL NOT NULL,
    result     TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX analyses_case ON analyses (case_id, id);

CREATE TABLE drafts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id             INTEGER NOT NULL REFERENCES cases (id),
    analysis_id         INTEGER REFERENCES analyses (id),
    reply_to_message_id INTEGER REFERENCES messages (id),
    status              TEXT NOT NULL,
    to_addr             TEXT NOT NULL,
    subject             TEXT NOT NULL,
    body_text           TEXT NOT NULL,
    body_html           TEXT NOT NULL,
    auto                BOOLEAN NOT NULL DEFAULT FALSE,
    outgoing_message_id TEXT NOT NULL DEFAULT '',
    attempts            INTEGER NOT NULL DEFAULT 0,
    sent_at             TIMESTAMP,
    smtp_reply          TEXT NOT NULL DEFAULT '',
    error               TEXT NOT NULL DEFAULT '',
    reviewed_by         TEXT NOT NULL DEFAULT '',
    reviewed_at         TIMESTAMP,
    reject_reason       TEXT NOT NULL DEFAULT '',
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX drafts_case ON drafts (case_id, id);
CREATE INDEX drafts_outgoing ON drafts (outgoing_message_id);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id    INTEGER REFERENCES cases (id),
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX events_case ON events (case_id, id);
