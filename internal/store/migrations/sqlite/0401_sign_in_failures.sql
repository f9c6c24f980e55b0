-- Failed desk sign-ins (issue #7): the throttle counts them here, not in
-- one node's memory, so that several nodes behind a load balancer give an
-- attacker no more tries than one. key is "email:<address>" or "ip:<address>".
CREATE TABLE sign_in_failures (
    key TEXT NOT NULL,
    at  TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_failures_key_at ON sign_in_failures (key, at);
CREATE INDEX sign_in_failures_at ON sign_in_failures (at);
