-- Tenants, their runs, and their failing findings by fingerprint. Instants are Unix seconds
-- (UTC) in both backends, so one set of queries serves SQLite and PostgreSQL. {ID} is each
-- backend's generated key.
CREATE TABLE tenants (
    id {ID},
    name TEXT NOT NULL UNIQUE,
    first_run_at BIGINT NOT NULL,
    last_run_at BIGINT NOT NULL
);

-- One row per recorded scan: its failing findings by severity, and what changed.
CREATE TABLE runs (
    id {ID},
    tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    as_of BIGINT NOT NULL,
    generated_at BIGINT NOT NULL,
    tool_version TEXT NOT NULL,
    report TEXT,
    critical BIGINT NOT NULL,
    high BIGINT NOT NULL,
    medium BIGINT NOT NULL,
    low BIGINT NOT NULL,
    info BIGINT NOT NULL,
    waived BIGINT NOT NULL,
    not_evaluated BIGINT NOT NULL,
    opened BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    reopened BIGINT NOT NULL
);
CREATE INDEX runs_by_tenant ON runs (tenant_id, as_of);

-- Every finding a run reported failing or waived, by fingerprint (rule, subject, item). Open
-- while resolved_at is NULL; opened_at starts the current episode, first_seen_at the first.
CREATE TABLE findings (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    outcome TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_name TEXT,
    app_id TEXT,
    item TEXT,
    message TEXT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    opened_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    resolved_at BIGINT,
    reopened_count BIGINT NOT NULL DEFAULT 0,
    waiver_reason TEXT,
    waiver_expires TEXT,
    waiver_ticket TEXT,
    last_run_id BIGINT,
    PRIMARY KEY (tenant_id, fingerprint)
);
CREATE INDEX findings_open ON findings (tenant_id, resolved_at);
