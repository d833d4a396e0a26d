#!/usr/bin/env bash
# kustomize reads no file outside a kustomization's folder, and the gateway must run the
# repository's own nginx.conf and static/: base/files/ holds copies of them.
#   deploy/k8s/sync.sh          copy nginx.conf and static/ into base/files/ (after editing them)
#   deploy/k8s/sync.sh --check  fail if a copy differs (`make check-deploy`, CI)
# A new file under static/ also needs its line in base/kustomization.yaml (nginx-static) and
# base/nginx.yaml (the volume's items); tests/k8s/test_gateway.py says which are missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
files="$root/deploy/k8s/base/files"
if [ "${1:-}" = --check ]; then
	if ! diff -r "$root/nginx.conf" "$files/nginx.conf" >/dev/null \
		|| ! diff -r "$root/static" "$files/static" >/dev/null; then
		echo "deploy/k8s/base/files differs from nginx.conf or static/: run deploy/k8s/sync.sh" >&2
		exit 1
	fi
	exit 0
fi
rm -rf "$files/static"
mkdir -p "$files"
cp "$root/nginx.conf" "$files/nginx.conf"
cp -R "$root/static" "$files/static"
echo "copied nginx.conf and static/ into deploy/k8s/base/files"
