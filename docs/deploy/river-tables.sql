-- Per-table and per-role settings for codedesk on PostgreSQL. Run once as
-- the database owner after the first `codedesk migrate` (River's tables must
-- exist); it is safe to run again. docs/deployment.md explains the figures.

-- River's job table: vacuum after 1 % of its rows changed (the default 20 %
-- lets dead tuples of a busy day pile up), and analyse often so the
-- planner keeps using the fetch index.
ALTER TABLE river_job SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 500,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_limit = 1000,
    autovacuum_vacuum_cost_delay = 2
);

-- Tiny tables updated every few seconds (leader election, queue
-- heartbeats, the mailbox checkpoint and lease): vacuum by row count.
ALTER TABLE river_leader SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 50);
ALTER TABLE river_queue SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 50);
ALTER TABLE mailbox_checkpoints SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 50);
-- The mailbox lease row is renewed every ttl/3 (2 s by default):
ALTER TABLE leases SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 50);

-- The role the nodes connect as (replace codedesk): no statement of a node
-- should run for a minute; a stuck one is cancelled and its job retried.
-- `codedesk export`, `codedesk import` and `codedesk codes import` of the
-- full NCCI files run longer statements: give them ...&statement_timeout=0
-- in their database URL (pgx passes unknown URL parameters on as session
-- settings).
-- ALTER ROLE codedesk SET statement_timeout = '60s';
-- ALTER ROLE codedesk SET lock_timeout = '10s';
-- ALTER ROLE codedesk SET idle_in_transaction_session_timeout = '60s';
