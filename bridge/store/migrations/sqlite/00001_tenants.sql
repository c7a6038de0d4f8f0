-- Tenants of platform mode. Secrets are sealed by the application (AES-256-GCM); the database never sees them
-- in clear. revision orders every write for the change feed (see store_revision).

-- +goose Up
CREATE TABLE tenants (
    id           TEXT      PRIMARY KEY NOT NULL,
    display_name TEXT      NOT NULL,
    config       BLOB      NOT NULL,
    secrets_key  TEXT      NOT NULL,
    secrets      BLOB      NOT NULL,
    version      INTEGER   NOT NULL CHECK (version > 0),
    revision     INTEGER   NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX tenants_revision ON tenants (revision);
CREATE INDEX tenants_secrets_key ON tenants (secrets_key);

-- The primary keys are the unique indexes that keep a domain or host to one tenant.
CREATE TABLE tenant_domains (
    domain    TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_id);

CREATE TABLE tenant_hosts (
    host      TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX tenant_hosts_tenant ON tenant_hosts (tenant_id);

-- A deleted tenant leaves its last version here so that a watcher that was away still learns of the delete.
CREATE TABLE tenant_tombstones (
    id       TEXT    PRIMARY KEY NOT NULL,
    version  INTEGER NOT NULL,
    revision INTEGER NOT NULL
);
CREATE INDEX tenant_tombstones_revision ON tenant_tombstones (revision);

-- One row, incremented by every write inside its transaction (SQLite has one writer at a time).
CREATE TABLE store_revision (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    value     INTEGER NOT NULL
);
INSERT INTO store_revision (singleton, value) VALUES (1, 0);

-- +goose Down
DROP TABLE store_revision;
DROP TABLE tenant_tombstones;
DROP TABLE tenant_hosts;
DROP TABLE tenant_domains;
DROP TABLE tenants;
