-- Readiness (/health/ready) compares the newest migration the code was written for with dbmate's
-- table, as app_user: reading it is all the application may do with it (no default privileges
-- reach it, see docs/migrations.md).

-- migrate:up
GRANT SELECT ON schema_migrations TO app_user;

-- migrate:down
REVOKE SELECT ON schema_migrations FROM app_user;
