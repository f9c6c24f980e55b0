-- Leases (issue #7): several codedesk nodes share one database, and exactly
-- one of them polls a given mailbox. The holder renews its lease well before
-- expires_at; when it dies or is cut off, another node takes the row over
-- once expires_at has passed. token grows with every take-over, so a stale
-- holder can be told apart from the current one (fencing).
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    token       BIGINT NOT NULL,
    acquired_at TIMESTAMP NOT NULL,
    renewed_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
