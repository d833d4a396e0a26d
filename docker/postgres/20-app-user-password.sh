# Sourced by the postgres image's entrypoint on the first start only (empty volume): creates the
# role app_user (the migrations grant to it; the `migrate` service creates the schema after this
# ran) and gives it the password the app connects with. The password is taken from
# DATABASE_URL (postgresql://app_user:PASSWORD@postgres:5432/app), the app's own setting, so it
# is configured in exactly one place. Use URL-safe characters (no percent-encoding is undone).
: "${DATABASE_URL:?DATABASE_URL is needed to set the password of app_user}"
app_credentials=${DATABASE_URL#*://}
case $app_credentials in
*:*@*) app_password=${app_credentials%%@*} app_password=${app_password#*:} ;;
*) app_password= ;;
esac
if [ -z "$app_password" ]; then
	echo "20-app-user-password.sh: DATABASE_URL has no password for app_user" >&2
	false
fi
# A psql variable, not string concatenation: the password is quoted by psql.
docker_process_sql --set=app_password="$app_password" <<'SQL'
SELECT 'CREATE ROLE app_user LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_user')
\gexec
ALTER ROLE app_user PASSWORD :'app_password';
SQL
unset app_password app_credentials
