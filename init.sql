-- The complete current schema of the users service, in one readable file. It is not what runs:
-- databases are built and changed by the migrations in db/migrations (`make migrate`, see
-- docs/migrations.md). tests/test_migrations.py fails when this file and the migrated schema
-- differ, so a migration comes with its edit here. Idempotent, like the baseline migration.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE IF NOT EXISTS users (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username       text        NOT NULL,
    password_hash  text        NOT NULL,
    name           text        NOT NULL DEFAULT '',
    -- Bumped by every name change; the Redis profile cache only ever moves forward in version.
    version        bigint      NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz,
    -- Accounts (migration 20261130140000): NULL email for accounts made before sign-up existed.
    email              text,
    email_verified_at  timestamptz,
    role               text NOT NULL DEFAULT 'user',
    disabled_at        timestamptz,
    CONSTRAINT users_username_not_blank CHECK (username ~ '^[^[:space:][:cntrl:]]{1,64}$'),
    CONSTRAINT users_name_length CHECK (char_length(name) <= 100),
    CONSTRAINT users_name_no_control CHECK (name !~ '[[:cntrl:]]'),
    CONSTRAINT users_password_hash_argon2 CHECK (password_hash LIKE '$argon2%'),
    CONSTRAINT users_role_known CHECK (role IN ('user', 'admin')),
    CONSTRAINT users_email_shape
        CHECK (email ~ '^[^[:space:][:cntrl:]@]+@[^[:space:][:cntrl:]@]+$' AND char_length(email) <= 254)
);

-- Serves the login lookup `WHERE lower(username) = lower($1)` (an index scan) and makes
-- `Alice` and `alice` one account.
CREATE UNIQUE INDEX IF NOT EXISTS users_username_lower_key ON users (lower(username));

-- One account per address, whatever its case (sign-up and password reset look it up so).
CREATE UNIQUE INDEX IF NOT EXISTS users_email_lower_key ON users (lower(email));

-- Serve GET /v1/users/search: `name % $1 OR username % $1`, ranked by similarity.
CREATE INDEX IF NOT EXISTS users_name_trgm_idx ON users USING gin (name gin_trgm_ops);
CREATE INDEX IF NOT EXISTS users_username_trgm_idx ON users USING gin (username gin_trgm_ops);

-- pg_trgm declares `%` (similarity_op) as cheap as `=`, so with 20,000 users the planner chose
-- a sequential scan that computed 40,000 trigram similarities (63 ms) over the GIN bitmap scan
-- (4 ms). Its real per-row cost is about 100 times that of a plain operator.
ALTER FUNCTION similarity_op(text, text) COST 100;

CREATE OR REPLACE FUNCTION users_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER users_touch_updated_at
    BEFORE UPDATE OF username, password_hash, name ON users
    FOR EACH ROW EXECUTE FUNCTION users_touch_updated_at();

-- >>> part:events
-- Transactional outbox: domain events are written in the same transaction as the change they
-- describe; the relay moves them to the Redis stream and stamps published_at.
CREATE TABLE IF NOT EXISTS outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid        NOT NULL DEFAULT gen_random_uuid(),
    event_type      text        NOT NULL,
    schema_version  smallint    NOT NULL DEFAULT 1,
    aggregate_id    bigint      NOT NULL,
    payload         jsonb       NOT NULL,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz,
    -- The W3C trace context of the request that wrote the event, NULL unless tracing is on: the
    -- envelope carries it, so a consumer can continue the trace (migration 20261130130000).
    traceparent     text,
    CONSTRAINT outbox_event_id_key UNIQUE (event_id)
);

-- Serves the relay's `WHERE published_at IS NULL ORDER BY id`: stays tiny, only pending rows.
CREATE INDEX IF NOT EXISTS outbox_pending_idx ON outbox (id) WHERE published_at IS NULL;
-- <<< part:events

-- accounts ----------------------------------------------------------------------------------
-- Mail waiting to be sent (app/accounts/mailer.py). Written in the same statement as the change
-- that asks for it; a row stays until the SMTP server took the message. No secret is stored: a
-- one-time token is minted when the message is sent.
CREATE TABLE IF NOT EXISTS mail_outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    template         text        NOT NULL,
    -- No foreign key: a notice may outlive the account it was about.
    user_id          bigint,
    recipient        text        NOT NULL,
    params           jsonb       NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    sent_at          timestamptz
);

-- Serves the sender's `WHERE sent_at IS NULL AND next_attempt_at <= now()`: only pending rows.
CREATE INDEX IF NOT EXISTS mail_outbox_pending_idx ON mail_outbox (next_attempt_at)
    WHERE sent_at IS NULL;

-- Sessions to drop in Redis because the account went away or was disabled, however that
-- happened (the API, `delete-user`, or plain SQL): filled by the triggers at the end, drained by
-- every worker's listener (app/accounts/revocations.py).
CREATE TABLE IF NOT EXISTS account_revocations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint      NOT NULL,
    reason        text        NOT NULL,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    done_at       timestamptz,
    CONSTRAINT account_revocations_reason_known
        CHECK (reason IN ('deleted', 'disabled', 'role_changed'))
);

CREATE INDEX IF NOT EXISTS account_revocations_pending_idx ON account_revocations (id)
    WHERE done_at IS NULL;

-- Least privilege: the application reads and writes rows; it cannot create, alter or drop.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_user') THEN
        CREATE ROLE app_user LOGIN;
    END IF;
END
$$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO app_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON users TO app_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO app_user;  -- part:events
GRANT SELECT, INSERT, UPDATE, DELETE ON mail_outbox TO app_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON account_revocations TO app_user;

-- >>> part:events
-- events ------------------------------------------------------------------------------------
-- Wakes the outbox relay (`LISTEN outbox`) as soon as an event commits. NOTIFY is delivered only
-- on commit, so a rolled-back change wakes no one; the relay also polls, in case a wake-up is
-- missed while it reconnects. One notification per statement: the relay drains in batches anyway.
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER outbox_notify
    AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
-- <<< part:events

-- accounts ----------------------------------------------------------------------------------
-- Wakes the mail senders (`LISTEN mail_outbox`) when mail commits.
CREATE OR REPLACE FUNCTION mail_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mail_outbox', '');
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER mail_outbox_notify
    AFTER INSERT ON mail_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION mail_outbox_notify();

-- A deleted row: its sessions and cached profile go (the listener), in the transaction of the
-- DELETE, whoever ran it; with domain events, other services learn it (account.deleted).
CREATE OR REPLACE FUNCTION users_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO account_revocations (user_id, reason) VALUES (OLD.id, 'deleted');
    -- >>> part:events
    INSERT INTO outbox (event_type, aggregate_id, payload)
    VALUES ('account.deleted', OLD.id,
            jsonb_build_object('user_id', OLD.id, 'username', OLD.username));
    -- <<< part:events
    PERFORM pg_notify('account_revocations', OLD.id::text);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER users_deleted
    AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION users_deleted();

-- Disabled, or given another role: the sessions (disabled) or the cached role (role) go.
CREATE OR REPLACE FUNCTION users_access_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.disabled_at IS NOT NULL AND OLD.disabled_at IS NULL THEN
        INSERT INTO account_revocations (user_id, reason) VALUES (NEW.id, 'disabled');
        PERFORM pg_notify('account_revocations', NEW.id::text);
    END IF;
    IF NEW.role IS DISTINCT FROM OLD.role THEN
        INSERT INTO account_revocations (user_id, reason) VALUES (NEW.id, 'role_changed');
        PERFORM pg_notify('account_revocations', NEW.id::text);
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER users_access_changed
    AFTER UPDATE OF disabled_at, role ON users
    FOR EACH ROW EXECUTE FUNCTION users_access_changed();
