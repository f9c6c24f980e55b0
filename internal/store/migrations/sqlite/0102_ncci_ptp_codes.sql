-- The codes named by each NCCI PTP release, written at import, so that
-- loading the knowledge base need not scan millions of edits to know which
-- CPT codes exist by number.
CREATE TABLE ncci_ptp_codes (
    release_id INTEGER NOT NULL,
    code       TEXT NOT NULL,
    PRIMARY KEY (release_id, code)
);
