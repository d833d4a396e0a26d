-- Accounts, step 2: validate the checks added NOT VALID by the previous migration. VALIDATE
-- scans the table under a SHARE UPDATE EXCLUSIVE lock, which lets reads and writes go on.

-- migrate:up
ALTER TABLE users VALIDATE CONSTRAINT users_role_known;
ALTER TABLE users VALIDATE CONSTRAINT users_email_shape;

-- migrate:down
-- Nothing to undo: a validated check is the same check.
