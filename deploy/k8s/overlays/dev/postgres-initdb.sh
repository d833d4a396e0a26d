# Sourced by the postgres image's entrypoint on the first start only (empty volume). Creates the
# app's least-privilege login role with the password of DATABASE_URL, the app's own setting; the
# migrations (Job db-migrate, as the owner) create the schema and grant app_user its rights.
: "${DATABASE_URL:?DATABASE_URL is needed to create app_user}"
app_credentials=${DATABASE_URL#*://}
app_password=${app_credentials%%@*}
app_password=${app_password#*:}
# A psql variable, quoted by format(%L): no string concatenation of the password.
docker_process_sql --set=app_password="$app_password" <<'SQL'
SELECT format('CREATE ROLE app_user LOGIN PASSWORD %L', :'app_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_user') \gexec
SQL
unset app_password app_credentials
