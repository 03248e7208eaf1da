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
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v ping >/dev/null || need+=(iputils-ping)
command -v setpriv >/dev/null || need+=(util-linux)
command -v unbound >/dev/null || [ -x /usr/sbin/unbound ] || need+=(unbound)
command -v tcpdump >/dev/null || [ -x /usr/bin/tcpdump ] || [ -x /usr/sbin/tcpdump ] || need+=(tcpdump)
command -v git >/dev/null || need+=(git)
# Reads the packet captures back (tests/e2e_capture.rs).
command -v tshark >/dev/null || need+=(tshark)
# The APK build and its tests: keytool and java, aapt2, apksigner.
command -v keytool >/dev/null || need+=(openjdk-17-jdk-headless)
command -v aapt2 >/dev/null || need+=(aapt)
command -v apksigner >/dev/null || need+=(apksigner)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ "$(id -u)" != 0 ]; then
  echo "the end-to-end tests build network namespaces: run as root" >&2
  exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# The C headers the Android build gives SQLite (tools/android/include), compiled for
# both Android targets and compared with the libc crate's Android definitions by
# `cargo test -p hush-android-abi`, which must not skip (installs clang, lld and
# llvm 19 and the two Android Rust targets when missing).
bash tools/android/abi-tables.sh || status=$?
export HUSH_ANDROID_ABI_REQUIRED=1
cargo test --workspace --locked 2>&1 | tee "$log" || status=$?
# The checker of the Android libraries' static rules, on libraries built to pass
# and to break each rule.
bash tools/android/test-check-native.sh 2>&1 | tee -a "$log" || status=$?
# The APK: built with `cargo xtask apk`, checked statically, rebuilt to check that it
# is reproducible (installs aapt, apksigner and a JDK when missing).
bash tests/android/apk.sh 2>&1 | tee -a "$log" || status=$?
# The Android app's Kotlin code, on the JVM under Robolectric (installs a JDK
# and Maven, and fetches its jars from Maven Central, when missing).
bash tests/android/jvm.sh 2>&1 | tee -a "$log" || status=$?
# Every fuzz target builds and runs clean from its committed corpus for a few
# seconds (installs nightly Rust and cargo-fuzz when missing; fuzz/README.md).
bash fuzz/ci.sh 2>&1 | tee -a "$log" || status=$?
# One closing line over every test binary: cargo prints one per binary, the
# JVM harness and the native checker's tests one each of their own.
awk '/^test result:|^jvm tests:|^check-native tests:|^apk tests:|^fuzz tests:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
