#!/usr/bin/env bash
# Sets up everything intentmap needs on a Debian machine with Node 20, idempotently:
#   deploy/setup.sh          system packages for running (libpcap), npm dependencies, the build
#   deploy/setup.sh --test   also the tools the test suite uses (Chromium, iproute2, iptables, tcpdump, tshark,
#                            dnsmasq, Go with sprig for the chart renderer)
#   deploy/setup.sh --bench  also the benchmark peers (tcpdump, tshark, wrk)
# Each step is skipped when already done. As a non-root user, missing system packages are named
# with the command to install them.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-run}"
say() { printf '[setup] %s\n' "$*" >&2; }

# --- Node -------------------------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1; then
  say "Node.js is not installed. Install Node 20 or 22 (e.g. from Debian or NodeSource), then run this again."
  exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  say "Node $(node --version) is too old; intentmap needs Node 20 or newer."
  exit 1
fi

# --- System packages --------------------------------------------------------------------------
# Command or file that proves a package is present, and the Debian package that provides it.
pkgs_run=("/usr/include/pcap/pcap.h:libpcap-dev" "g++:g++" "make:make" "python3:python3")
# The chart renderer used by the deploy tests (deploy/helm-render) is Go with sprig from Debian.
pkgs_test=("chromium:chromium" "ip:iproute2" "iptables:iptables" "tcpdump:tcpdump" "tshark:tshark" "dnsmasq:dnsmasq-base"
  "ps:procps" "sqlite3:sqlite3" "setpriv:util-linux" "gcc:gcc" "go:golang-go" "unzip:unzip"
  "/usr/share/gocode/src/github.com/Masterminds/sprig:golang-github-masterminds-sprig-dev"
  "/usr/share/gocode/src/sigs.k8s.io/yaml:golang-k8s-sigs-yaml-dev")
pkgs_bench=("tcpdump:tcpdump" "tshark:tshark" "wrk:wrk")

wanted=("${pkgs_run[@]}")
case "$mode" in
  run) ;;
  --test) wanted+=("${pkgs_test[@]}") ;;
  --bench) wanted+=("${pkgs_test[@]}" "${pkgs_bench[@]}") ;;
  *) say "unknown option '$mode'; use no option, --test or --bench"; exit 2 ;;
esac

missing=()
for entry in "${wanted[@]}"; do
  probe="${entry%%:*}"; pkg="${entry##*:}"
  if [[ "$probe" == /* ]]; then [ -e "$probe" ] && continue; else command -v "$probe" >/dev/null 2>&1 && continue; fi
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing system packages: ${missing[*]}"
    say "install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  say "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- npm dependencies -------------------------------------------------------------------------
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.intentmap-lock-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$stamp"
fi

# --- Build ------------------------------------------------------------------------------------
say "building (TypeScript and the web UI)"
npm run -s build
say "ready"
