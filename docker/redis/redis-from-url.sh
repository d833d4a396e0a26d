#!/bin/sh
# Redis with the password of REDIS_URL (redis://:PASSWORD@redis:6379/0), the app's own setting,
# so it is configured in exactly one place. `serve` (default) runs the server through the
# image's entrypoint; `check` is the healthcheck. Use URL-safe characters in the password.
set -eu
credentials=${REDIS_URL#*://}
case $credentials in
*:*@*) password=${credentials%%@*} password=${password#*:} ;;
*) password= ;;
esac
if [ -z "$password" ]; then
	echo "redis-from-url.sh: REDIS_URL has no password (redis://:PASSWORD@host:6379/0)" >&2
	exit 1
fi
case "${1:-serve}" in
check)
	# REDISCLI_AUTH keeps the password out of the process list.
	[ "$(REDISCLI_AUTH=$password redis-cli ping)" = PONG ]
	;;
serve)
	shift || true
	# redis shows "redis-server *:6379" as its process title, not its arguments.
	exec docker-entrypoint.sh redis-server --requirepass "$password" "$@"
	;;
*)
	echo "usage: $0 [serve [redis-server options...]|check]" >&2
	exit 2
	;;
esac
