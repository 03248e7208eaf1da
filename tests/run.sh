#!/usr/bin/env bash
# Runs every test of Hush: unit, capture and list tests, and the end-to-end
# tests in network namespaces (root). Installs the Debian packages the tests
# drive when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ip >/dev/null || need+=(iproute2)
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
command -v dig >/dev/null || need+=(bind9-dnsutils)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ "$(id -u)" != 0 ]; then
  echo "the end-to-end tests build network namespaces: run as root" >&2
  exit 1
fi
cargo test --workspace --locked
