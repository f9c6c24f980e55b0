-- Code sets (issue #3): every imported official file is a release part with
-- its effective range; rows carry the release id, so releases coexist and a
-- date of service picks the one in force. Dates are YYYYMMDD integers
-- (0 or NULL = none); they sort and compare as numbers on both engines.

CREATE TABLE code_releases (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    system         TEXT NOT NULL,    -- icd10cm, pcs, hcpcs, cpt, ncci
    kind           TEXT NOT NULL,    -- file format, e.g. icd10cm_order, hcpcs, ptp_practitioner
    version        TEXT NOT NULL,    -- e.g. 2025, 2025-Q1
    part           TEXT NOT NULL DEFAULT '', -- file of a multi-file release, e.g. f1 of NCCI PTP
    name           TEXT NOT NULL,    -- e.g. ICD-10-CM FY2025
    effective_from INTEGER NOT NULL,
    effective_to   INTEGER NOT NULL DEFAULT 0,
    source_file    TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    row_count      INTEGER NOT NULL DEFAULT 0,
    imported_at    TIMESTAMP NOT NULL,
    UNIQUE (kind, version, part)
);

-- Code lists: ICD-10-CM/PCS order and codes files, HCPCS Level II codes
-- and modifiers, licensed CPT descriptors. attrs holds format-specific
-- fields as JSON (HCPCS pricing, coverage, dates, action).
CREATE TABLE code_entries (
    release_id INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    code       TEXT NOT NULL,        -- no dot, upper case
    kind       TEXT NOT NULL,        -- code, header, modifier
    billable   BOOLEAN NOT NULL,
    short_desc TEXT NOT NULL,
    long_desc  TEXT NOT NULL,
    attrs      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (release_id, code, kind)
);

-- Addenda: what a release added, deleted or revised.
CREATE TABLE code_addenda (
    release_id INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    action     TEXT NOT NULL,        -- add, delete, revise_from, revise_to
    code       TEXT NOT NULL,
    billable   BOOLEAN,              -- order addenda only
    short_desc TEXT NOT NULL,
    long_desc  TEXT NOT NULL,
    PRIMARY KEY (release_id, seq)
);

-- ICD-10-CM Tabular List: chapters, sections (blocks) and diag elements
-- with their parent, and every note attached to them.
CREATE TABLE icd10cm_tabular (
    release_id  INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,       -- chapter, section, diag
    code        TEXT NOT NULL,       -- chapter number, section id (A00-A09), code without dot
    parent      TEXT NOT NULL,       -- enclosing element's code ('' for chapters)
    description TEXT NOT NULL,
    PRIMARY KEY (release_id, seq)
);

CREATE TABLE icd10cm_notes (
    release_id INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    owner      INTEGER NOT NULL,     -- icd10cm_tabular.seq of the element
    type       TEXT NOT NULL,        -- inclusion_term, includes, excludes1, …
    ch         TEXT NOT NULL DEFAULT '', -- 7th character for seventh_character rows
    text       TEXT NOT NULL,
    PRIMARY KEY (release_id, seq)
);

-- ICD-10-CM Alphabetic Index: main terms and nested subterms, each with its
-- parent, so the full term path can be rebuilt.
CREATE TABLE icd10cm_index_terms (
    release_id INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    parent     INTEGER NOT NULL,     -- seq of the parent term, 0 for main terms
    level      INTEGER NOT NULL,     -- 0 main term, 1.. subterms
    title      TEXT NOT NULL,
    nemod      TEXT NOT NULL DEFAULT '',
    code       TEXT NOT NULL DEFAULT '',
    manif      TEXT NOT NULL DEFAULT '',
    see        TEXT NOT NULL DEFAULT '',
    see_also   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (release_id, seq)
);

-- NCCI procedure-to-procedure edits.
CREATE TABLE ncci_ptp (
    release_id INTEGER NOT NULL,
    column1    TEXT NOT NULL,
    column2    TEXT NOT NULL,
    pre1996    BOOLEAN NOT NULL,
    effective  INTEGER NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    modifier   INTEGER NOT NULL,
    rationale  TEXT NOT NULL
);
CREATE INDEX ncci_ptp_pair ON ncci_ptp (release_id, column1, column2);

-- NCCI medically unlikely edits.
CREATE TABLE ncci_mue (
    release_id INTEGER NOT NULL,
    code       TEXT NOT NULL,
    value      INTEGER NOT NULL,
    mai        INTEGER NOT NULL,
    mai_text   TEXT NOT NULL,
    rationale  TEXT NOT NULL,
    PRIMARY KEY (release_id, code)
);
