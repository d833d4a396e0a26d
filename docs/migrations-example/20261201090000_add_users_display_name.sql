-- Worked example (docs/migrations.md), expand step 1 of renaming users.name to display_name:
-- the new column, kept equal to the old one by a trigger, so the release that is running
-- (writes `name`) and the next one (reads `display_name`) both work while they overlap.
-- tests/test_migrations.py applies and rolls back this example on a scratch database.

-- migrate:up
-- A brief ACCESS EXCLUSIVE lock: give up after 5 s rather than queue behind a long
-- transaction while every request queues behind this statement.
SET LOCAL lock_timeout = '5s';

-- Nullable, no default: a catalog change only, no table rewrite. app_user's table-level grant
-- (SELECT, INSERT, UPDATE ON users) covers the new column; a new table needs its own GRANT.
ALTER TABLE users ADD COLUMN display_name text;

CREATE FUNCTION users_copy_name() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.display_name := NEW.name;
    RETURN NEW;
END;
$$;

CREATE TRIGGER users_copy_name
    BEFORE INSERT OR UPDATE OF name ON users
    FOR EACH ROW EXECUTE FUNCTION users_copy_name();

-- migrate:down
SET LOCAL lock_timeout = '5s';
DROP TRIGGER users_copy_name ON users;
DROP FUNCTION users_copy_name();
ALTER TABLE users DROP COLUMN display_name;
