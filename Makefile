# Every target a developer needs; `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
RUN := $(UV) run --frozen
COMPOSE_DEV := docker compose -f compose.yaml
COMPOSE_PROD := docker compose -f compose.yaml -f compose.prod.yaml --env-file .env.prod

.PHONY: help install dev prod local test lint fmt clean create-user
.PHONY: migrate migration release domain domain-sql
.PHONY: asyncapi  # part:events
.PHONY: bench bench-overhead fuzz chaos chaos-overload  # part:tooling

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: ## System tools when missing (tools/setup/system-packages.sh), then .venv from the lock file
	@tools/setup/system-packages.sh
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

test: install ## Run the test suite against the local PostgreSQL and Redis
	$(RUN) pytest

lint: install ## ruff (lint + format check), mypy --strict, import contracts (layers), actionlint
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy .
	$(RUN) lint-imports
	$(RUN) actionlint .github/workflows/*.yml

fmt: install ## Format and auto-fix with ruff
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

local: install ## nginx + gunicorn on the host against .env.local's PostgreSQL/Redis (no Docker)
	$(RUN) python -m tools.devstack.local

migrate: install ## Apply pending migrations (db/migrations) as DATABASE_OWNER_URL of .env.local (ENV_FILE)
	$(RUN) python -m tools.devstack.migrate

migration: install ## Create the next migration file: make migration NAME=add_x (docs/migrations.md)
	@test -n "$(NAME)" || { echo "usage: make migration NAME=add_x"; exit 2; }
	$(RUN) dbmate --migrations-dir db/migrations new "$(NAME)"

domain: install ## A new owner-scoped CRUD domain: make domain NAME=orders [SINGULAR=order] (docs/api.md)
	@test -n "$(NAME)" || { echo "usage: make domain NAME=orders  (plural snake_case; SINGULAR=... if guessed wrong)"; exit 2; }
	$(RUN) python -m tools.domain "$(NAME)" $(if $(SINGULAR),--singular "$(SINGULAR)")

domain-sql: install ## Copy a `make domain` table's edited migration into init.sql: make domain-sql NAME=orders
	@test -n "$(NAME)" || { echo "usage: make domain-sql NAME=orders"; exit 2; }
	$(RUN) python -m tools.domain --init-sql "$(NAME)"

# Docker targets say plainly when there is no engine to talk to.
DOCKER_REQUIRED = @docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1 || { \
	echo "make $@: needs a running Docker Engine and the compose plugin ('docker info' failed)."; \
	echo "  Start a Docker Engine (any, with the compose plugin); docs/deployment.md"; \
	exit 1; }
.PHONY: docker-smoke check-deploy

# >>> part:events
# make dev EVENTS_BROKER=rabbitmq|nats: that broker's compose profile, the app pointed at it.
EVENTS_BROKER ?= redis
DEV_BROKER_URL_rabbitmq = amqp://app:$${RABBITMQ_PASSWORD:-dev-rabbitmq-password}@rabbitmq:5672/
DEV_BROKER_URL_nats = nats://nats:4222
DEV_BROKER = $(if $(DEV_BROKER_URL_$(EVENTS_BROKER)),COMPOSE_PROFILES=$(EVENTS_BROKER) \
	EVENTS_BROKER_URL=$${EVENTS_BROKER_URL:-$(DEV_BROKER_URL_$(EVENTS_BROKER))}) EVENTS_BROKER=$(EVENTS_BROKER)
# <<< part:events

dev: ## Docker dev stack (reload, source mounted) on http://localhost:8080 (HTTP_HOST_PORT)
	$(DOCKER_REQUIRED)
	@mkdir -p run/mail
	MAIL_CATCHER_USER=$${MAIL_CATCHER_USER:-$$(id -u):$$(id -g)} $(DEV_BROKER) $(COMPOSE_DEV) up --detach --build --wait
	@echo "API through nginx: http://localhost:$${HTTP_HOST_PORT:-8080}"
	@echo "mail: run/mail/, links in: $(COMPOSE_DEV) logs -f mail"
	@echo "logs: $(COMPOSE_DEV) logs -f    stop: $(COMPOSE_DEV) down"

prod: ## Docker prod stack (gunicorn, API_REPLICAS=2); needs real secrets in .env.prod
	$(DOCKER_REQUIRED)
	@test -n "$$POSTGRES_PASSWORD" || grep -q '^POSTGRES_PASSWORD=.' .env.prod || { \
		echo "make prod: set POSTGRES_PASSWORD (the database superuser's) in the environment or .env.prod"; exit 1; }
	$(COMPOSE_PROD) up --detach --build --wait
	@echo "API through nginx: http://localhost:$${HTTP_HOST_PORT:-8080}"
	@echo "scale: $(COMPOSE_PROD) up -d --scale api=4 --no-recreate && $(COMPOSE_PROD) kill -s HUP nginx"

docker-smoke: install ## Build, run the prod stack with throwaway secrets, e2e tests through its nginx, tear down
	$(DOCKER_REQUIRED)
	$(RUN) python -m tools.devstack.smoke

check-deploy: install ## Compose schema + config, hadolint, nginx -t, Kubernetes overlays (kustomize + kubernetes-validate)
	UV=$(UV) docker/check-deploy.sh

# >>> part:tooling: the benchmark, chaos and capacity tooling (copier: perf_tooling)
bench: install ## Benchmark nginx -> gunicorn with wrk (~15 min; ARGS="--smoke", "--cases hello,getName", "--baseline REF")
	$(RUN) python -m tools.bench $(ARGS)

bench-overhead: install ## What metrics and tracing cost: stacks with and without, interleaved runs, ratios (~8 min)
	$(RUN) python -m tools.bench.overhead $(ARGS)

fuzz: install ## schemathesis through nginx with a real token: >= 1,000 requests, no 5xx, documented answers (~6-9 min; ARGS="--examples 50")
	$(RUN) python -m tools.chaos.fuzz $(ARGS)

chaos: install ## Faults under load (Redis/PostgreSQL stopped, worker SIGKILL, API down, Redis Cluster failover; per broker: broker stopped 30 s, relay killed mid-batch): table + results/chaos-*.json (~7 min; ARGS="--short", "--brokers nats")
	$(RUN) python -m tools.chaos $(ARGS)

chaos-overload: install ## 1,024 wrk connections on /getName for 60 s, pool shedding, slowloris: results/overload-*.json (~2 min)
	$(RUN) python -m tools.chaos --overload $(ARGS)
# <<< part:tooling

release: ## Set the version everywhere, commit and tag it: make release VERSION=1.2.0 (docs/new-service.md)
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=MAJOR.MINOR.PATCH"; exit 2; }
	$(RUN) python -m tools.release "$(VERSION)"

# >>> part:events
asyncapi: install ## Regenerate docs/events.asyncapi.yaml from app/events/catalog.py (a test fails when they differ)
	$(RUN) python -m app.events.asyncapi --write
# <<< part:events

create-user: install ## Create a user: make create-user USERNAME=alice [NAME="Alice A."] [ADMIN=1]
	@test -n "$(USERNAME)" || { echo "usage: make create-user USERNAME=name [NAME=...] [ADMIN=1]"; exit 2; }
	ENV_FILE=$${ENV_FILE:-.env.local} $(RUN) python -m app.cli create-user "$(USERNAME)" $(if $(NAME),--name "$(NAME)") $(if $(ADMIN),--admin)

clean: ## Remove caches, run/ and results of local runs
	rm -rf .mypy_cache .ruff_cache .pytest_cache run
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# >>> template-only: a service made with copier does not get this target (tools/template/rename.py)
.PHONY: template-check
template-check: install ## copier copy "Orders Service" with all, none and some optional parts: no template name or removed part left, make domain, a migration, make lint + make test pass (~40 min; ARGS="--variants all-on")
	$(RUN) python -m tools.template.check $(ARGS)
# <<< template-only
