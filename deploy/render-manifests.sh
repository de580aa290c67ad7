#!/usr/bin/env bash
# Renders the Helm chart (deploy/helm/intentmap) into plain manifests (deploy/manifests/intentmap.yaml)
# for people without Helm.
#
# With `helm` on PATH it runs `helm template`. Without it (this project's machines: Debian ships no
# helm binary and only Debian and npm packages can be installed) it builds deploy/helm-render, a
# renderer made of the same parts as helm's engine (Go text/template + sprig v3 + helm's include/
# tpl/required/toYaml/lookup), from Debian's golang-go, golang-github-masterminds-sprig-dev and
# golang-k8s-sigs-yaml-dev.
#
# Usage: deploy/render-manifests.sh           rewrite deploy/manifests/intentmap.yaml
#        deploy/render-manifests.sh --check   fail if the committed file is out of date
#        deploy/render-manifests.sh --stdout -- [extra helm flags]   print a render
set -euo pipefail
cd "$(dirname "$0")/.."

CHART=deploy/helm/intentmap
OUT=deploy/manifests/intentmap.yaml
# The plain manifests never carry a token: the operator creates the Secret (see the header below).
VALUES=(--set token.existingSecret=intentmap-token)
mode=write
if [[ "${1:-}" == "--check" ]]; then mode=check; shift; fi
if [[ "${1:-}" == "--stdout" ]]; then mode=stdout; shift; [[ "${1:-}" == "--" ]] && shift; VALUES=("$@"); fi

render() {
  if command -v helm >/dev/null 2>&1; then
    helm template intentmap "$CHART" --namespace intentmap "${VALUES[@]}"
    return
  fi
  if ! command -v go >/dev/null 2>&1 || [[ ! -d /usr/share/gocode/src/github.com/Masterminds/sprig ]]; then
    echo "render-manifests: neither helm nor the Go renderer's build inputs are installed." >&2
    echo "  apt-get install -y golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev" >&2
    exit 1
  fi
  local cache="${TMPDIR:-/tmp}/intentmap-helm-render"
  local sum
  sum=$(sha256sum deploy/helm-render/main.go | cut -c1-16)
  local bin="$cache/helm-render-$sum"
  if [[ ! -x "$bin" ]]; then
    mkdir -p "$cache"
    (cd deploy/helm-render && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$cache/gocache" GOFLAGS= \
      go build -o "$bin.tmp" main.go)
    mv "$bin.tmp" "$bin"
  fi
  "$bin" --chart "$CHART" --release intentmap --namespace intentmap "${VALUES[@]}"
}

header() {
  cat <<'HEAD'
# intentmap: plain Kubernetes manifests, rendered from deploy/helm/intentmap with the chart's default
# values (release "intentmap", namespace "intentmap") by deploy/render-manifests.sh. Do not edit by
# hand: change the chart and re-run the script.
#
# Before applying, create the namespace and the shared token (the sniffers send it, the mapper checks it):
#   kubectl create namespace intentmap
#   kubectl -n intentmap create secret generic intentmap-token --from-literal=token="$(head -c 36 /dev/urandom | base64 | tr -d '/+=')"
#   kubectl -n intentmap apply -f deploy/manifests/intentmap.yaml
# Then set the NetworkPolicy's node CIDRs (see the comment on the NetworkPolicy below) and the image.
HEAD
}

case "$mode" in
  stdout) render ;;
  write)
    tmp=$(mktemp)
    { header; render; } > "$tmp"
    mv "$tmp" "$OUT"
    echo "wrote $OUT"
    ;;
  check)
    tmp=$(mktemp)
    trap 'rm -f "$tmp"' EXIT
    { header; render; } > "$tmp"
    if ! diff -u "$OUT" "$tmp"; then
      echo "render-manifests: $OUT is out of date; run deploy/render-manifests.sh" >&2
      exit 1
    fi
    echo "$OUT is up to date"
    ;;
esac
