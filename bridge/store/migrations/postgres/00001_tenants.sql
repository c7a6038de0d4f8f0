-- Tenants of platform mode. Secrets are sealed by the application (AES-256-GCM); the database never sees them
-- in clear. revision orders every write for the change feed (see store_revision).

-- +goose Up
CREATE TABLE tenants (
    id           text        PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    display_name text        NOT NULL,
    config       bytea       NOT NULL,
    secrets_key  text        NOT NULL,
    secrets      bytea       NOT NULL,
    version      bigint      NOT NULL CHECK (version > 0),
    revision     bigint      NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX tenants_revision ON tenants (revision);
CREATE INDEX tenants_secrets_key ON tenants (secrets_key);

-- The primary keys are the unique indexes that keep a domain or host to one tenant.
CREATE TABLE tenant_domains (
    domain    text PRIMARY KEY,
    tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_id);

CREATE TABLE tenant_hosts (
    host      text PRIMARY KEY,
    tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX tenant_hosts_tenant ON tenant_hosts (tenant_id);

-- A deleted tenant leaves its last version here so that a watcher that was away still learns of the delete.
CREATE TABLE tenant_tombstones (
    id       text   PRIMARY KEY,
    version  bigint NOT NULL,
    revision bigint NOT NULL
);
CREATE INDEX tenant_tombstones_revision ON tenant_tombstones (revision);

-- One row: incremented by every write, inside its transaction. Its row lock makes revisions commit in order,
-- so a poller that has seen revision N has seen every write up to N.
CREATE TABLE store_revision (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    value     bigint  NOT NULL
);
INSERT INTO store_revision (value) VALUES (0);

-- +goose Down
DROP TABLE store_revision;
DROP TABLE tenant_tombstones;
DROP TABLE tenant_hosts;
DROP TABLE tenant_domains;
DROP TABLE tenants;
