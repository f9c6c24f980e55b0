-- OAuth tokens for XOAUTH2 mail login (issue #5). Providers rotate refresh
-- tokens: the newest one must survive a restart, so it lives here, not in
-- the configuration. One row per account name.
CREATE TABLE oauth_tokens (
    name                  TEXT PRIMARY KEY,
    refresh_token         TEXT NOT NULL,
    access_token          TEXT NOT NULL DEFAULT '',
    access_expiry         TIMESTAMPTZ,
    refresh_expiry        TIMESTAMPTZ,
    updated_at            TIMESTAMPTZ NOT NULL
);
