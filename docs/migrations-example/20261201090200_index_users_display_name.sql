-- Worked example, expand step 3: the search index on the new column, built without blocking
-- writes. CREATE INDEX CONCURRENTLY cannot run inside a transaction: transaction:false, one
-- statement per section. If it fails it leaves an INVALID index behind; IF NOT EXISTS would then
-- keep it, so drop it (DROP INDEX CONCURRENTLY) before running the migration again.

-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_display_name_trgm_idx
    ON users USING gin (display_name gin_trgm_ops);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS users_display_name_trgm_idx;
