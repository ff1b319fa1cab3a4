-- Each time a finding was resolved, with how long it had been open: the mean time to resolve
-- per rule counts every episode, including those of findings that came back later.
CREATE TABLE resolutions (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    resolved_at BIGINT NOT NULL,
    run_id BIGINT
);
CREATE INDEX resolutions_by_time ON resolutions (resolved_at);

-- The episodes schema 1 already closed.
INSERT INTO resolutions (tenant_id, fingerprint, rule_id, severity, opened_at, resolved_at, run_id)
SELECT tenant_id, fingerprint, rule_id, severity, opened_at, resolved_at, last_run_id
FROM findings WHERE resolved_at IS NOT NULL;

-- The rule and subject without the item: a finding is held open, neither seen nor resolved,
-- while its rule could not be evaluated for its subject. NULL for findings of schema 1.
ALTER TABLE findings ADD COLUMN subject_key TEXT;
ALTER TABLE findings ADD COLUMN reopened_at BIGINT;
