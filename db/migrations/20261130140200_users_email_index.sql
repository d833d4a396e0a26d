-- Accounts, step 3: one account per address, whatever its case (`lower(email)`, the folding the
-- sign-up and reset lookups use), built without blocking writes. CONCURRENTLY cannot run in a
-- transaction: one statement in a transaction:false section. A failed build leaves an INVALID
-- index: DROP INDEX CONCURRENTLY it before running the migration again.

-- migrate:up transaction:false
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_lower_key ON users (lower(email));

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS users_email_lower_key;
