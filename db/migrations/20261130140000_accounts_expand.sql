-- Accounts people run themselves (docs/api.md "Accounts"), expand step: new nullable or
-- defaulted columns on users, the mail queue, the revocation queue and the triggers that fill
-- it. Columns with no default or a constant one change only the catalogue (no rewrite); the
-- checks are added NOT VALID (no scan under the exclusive lock) and validated by the next
-- migration; the email index is built concurrently by the one after. Existing users keep a NULL
-- email: sign-up sets it, and nothing requires it of an account made by `create-user`.

-- migrate:up
SET LOCAL lock_timeout = '5s';

ALTER TABLE users
    ADD COLUMN email             text,
    ADD COLUMN email_verified_at timestamptz,
    ADD COLUMN role              text NOT NULL DEFAULT 'user',
    ADD COLUMN disabled_at       timestamptz;

ALTER TABLE users ADD CONSTRAINT users_role_known CHECK (role IN ('user', 'admin')) NOT VALID;
ALTER TABLE users ADD CONSTRAINT users_email_shape
    CHECK (email ~ '^[^[:space:][:cntrl:]@]+@[^[:space:][:cntrl:]@]+$' AND char_length(email) <= 254)
    NOT VALID;

-- Mail waiting to be sent (app/accounts/mailer.py). Written in the same statement as the change
-- that asks for it; a row stays until the SMTP server took the message. No secret is stored: a
-- one-time token is minted when the message is sent.
CREATE TABLE mail_outbox (
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
CREATE INDEX mail_outbox_pending_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;

-- Sessions to drop in Redis because the account went away or was disabled, however that
-- happened (the API, `delete-user`, or plain SQL): filled by the triggers below, drained by
-- every worker's listener (app/accounts/revocations.py).
CREATE TABLE account_revocations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint      NOT NULL,
    reason        text        NOT NULL,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    done_at       timestamptz,
    CONSTRAINT account_revocations_reason_known
        CHECK (reason IN ('deleted', 'disabled', 'role_changed'))
);

CREATE INDEX account_revocations_pending_idx ON account_revocations (id) WHERE done_at IS NULL;

CREATE FUNCTION mail_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mail_outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER mail_outbox_notify
    AFTER INSERT ON mail_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION mail_outbox_notify();

-- A deleted row: its sessions and cached profile go (the listener), in the transaction of the
-- DELETE, whoever ran it; with domain events, other services learn it (account.deleted).
CREATE FUNCTION users_deleted() RETURNS trigger
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

CREATE TRIGGER users_deleted
    AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION users_deleted();

-- Disabled, or given another role: the sessions (disabled) or the cached role (role) go.
CREATE FUNCTION users_access_changed() RETURNS trigger
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

CREATE TRIGGER users_access_changed
    AFTER UPDATE OF disabled_at, role ON users
    FOR EACH ROW EXECUTE FUNCTION users_access_changed();

-- Account deletion (DELETE /v1/accounts/me, admin tooling) is the app's to do now.
GRANT DELETE ON users TO app_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON mail_outbox TO app_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON account_revocations TO app_user;

-- migrate:down
SET LOCAL lock_timeout = '5s';
REVOKE DELETE ON users FROM app_user;
DROP TRIGGER users_access_changed ON users;
DROP FUNCTION users_access_changed();
DROP TRIGGER users_deleted ON users;
DROP FUNCTION users_deleted();
DROP TRIGGER mail_outbox_notify ON mail_outbox;
DROP FUNCTION mail_outbox_notify();
DROP TABLE account_revocations;
DROP TABLE mail_outbox;
ALTER TABLE users DROP CONSTRAINT users_email_shape;
ALTER TABLE users DROP CONSTRAINT users_role_known;
ALTER TABLE users
    DROP COLUMN disabled_at,
    DROP COLUMN role,
    DROP COLUMN email_verified_at,
    DROP COLUMN email;
