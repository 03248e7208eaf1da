#!/usr/bin/env bash
# Hush: the APK build's own tests, on a real build (tests/run.sh runs this).
#
#   1. `cargo xtask apk` builds dist/hush-<version>-debug.apk and checks it
#      statically (apksigner verify, aapt2 badging, layout, dex, check-native);
#      `cargo xtask check-apk` checks the result again from the sources alone.
#   2. Reproducible: the same sources checked out a second time at another
#      path (a git worktree of HEAD plus the tree's uncommitted changes to
#      tracked files) and built from nothing there, native libraries and all,
#      in a target directory of their own: the unsigned APKs must be
#      byte-identical.
#   3. The bytecode verifier run on ProGuard's output rejects what ProGuard's
#      default optimisations write (what it guards against).
#   4. An unreachable Maven registry is reported as such.
# Builds with --allow-dirty: a tree under edit is still tested (the refusal of
# a dirty tree is tested in rust/xtask/tests/bad_input.rs).
# Closes with "apk tests: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

passed=0
failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
not_ok() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() {
    echo "apk tests: $passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit
}

version=$(sed -n 's/^hush\.versionName *[=:] *//p' gradle.properties | tr -d ' \r')
apk=dist/hush-$version-debug.apk
unsigned=build/android/apk/hush-$version-unsigned.apk

t0=$SECONDS
if cargo xtask apk --allow-dirty && [ -f "$apk" ]; then
    ok "cargo xtask apk: $apk, $(stat -c %s "$apk") bytes, in $((SECONDS - t0)) s"
else
    not_ok "cargo xtask apk"
    finish
fi
if cargo xtask check-apk "$apk" >/dev/null; then
    ok "cargo xtask check-apk $apk"
else
    not_ok "cargo xtask check-apk $apk"
fi

first=$(sha256sum <"$unsigned" | cut -c1-64)
other=$(mktemp -d /tmp/hush-repro.XXXXXX)
snapshot=$(git stash create 2>/dev/null)
t0=$SECONDS
if git worktree add -q --detach "$other/hush" "${snapshot:-HEAD}" &&
    (cd "$other/hush" && CARGO_TARGET_DIR=$other/target cargo xtask apk --allow-dirty) >"$other/build.log" 2>&1 &&
    [ -f "$other/hush/$unsigned" ]; then
    second=$(sha256sum <"$other/hush/$unsigned" | cut -c1-64)
    if [ "$first" = "$second" ]; then
        ok "reproducible: built again in $other/hush from nothing ($((SECONDS - t0)) s), the unsigned APK is byte-identical (sha256 ${first:0:16}...)"
    else
        not_ok "reproducible: unsigned APK ${first:0:16}... here, ${second:0:16}... in a second checkout (files not tracked by git are not in it)"
        python3 - "$unsigned" "$other/hush/$unsigned" <<'PY'
import hashlib, sys, zipfile
a, b = (zipfile.ZipFile(p) for p in sys.argv[1:])
for i in a.infolist():
    x, y = a.read(i.filename), (b.read(i.filename) if i.filename in b.namelist() else b"")
    if x != y:
        print(f"     differs: {i.filename} ({len(x)} and {len(y)} bytes)")
PY
    fi
else
    not_ok "second checkout's cargo xtask apk failed: $(tail -n 5 "$other/build.log" 2>/dev/null)"
fi
git worktree remove --force "$other/hush" 2>/dev/null
rm -rf "$other"
git worktree prune

# The bytecode verifier the build runs on ProGuard's output catches what it is there
# for: ProGuard with its default optimisations (the build turns three off) writes a
# kotlinx.coroutines.JobKt that a verifier rejects.
jvm_out=$(bash tests/android/jvm.sh --app-classes 2>/dev/null)
cp_of() { sed -n "s/^$1=//p" <<<"$jvm_out"; }
java_bin=$(cp_of java-home)/bin/java
bad=build/android/apk/default-optimisations.jar
grep -v '^-optimizations' build/android/apk/proguard.pro |
    sed "s|^-outjars .*|-outjars '$PWD/$bad'|" >build/android/apk/default-optimisations.pro
if "$java_bin" -cp "$(cp_of proguard-classpath)" proguard.ProGuard @build/android/apk/default-optimisations.pro >/dev/null 2>&1; then
    verdict=$("$java_bin" -cp "build/android/apk/verifier:$(cp_of verifier-classpath):$(cp_of android-classpath)" VerifyJar "$bad" 2>&1)
    if [ $? = 1 ] && grep -q "FAIL kotlinx/coroutines/JobKt.class" <<<"$verdict"; then
        ok "the verifier rejects ProGuard's default optimisations: $(tail -n 1 <<<"$verdict")"
    else
        not_ok "verifier on ProGuard's default optimisations (if ProGuard now writes verifiable code, its -optimizations exclusions may go): $(tail -n 2 <<<"$verdict")"
    fi
else
    not_ok "ProGuard with default optimisations did not run"
fi
rm -f "$bad" build/android/apk/default-optimisations.pro

# A registry that does not answer: a port nobody serves, an empty cache.
cache=$(mktemp -d)
out=$(HUSH_JVM_CACHE=$cache HUSH_MAVEN_CENTRAL=http://127.0.0.1:9/maven2 \
    timeout 300 bash tests/android/jvm.sh --app-classes 2>&1)
status=$?
rm -rf "$cache"
if [ "$status" != 0 ] && grep -q "Maven could not resolve the dependencies" <<<"$out"; then
    ok "an unreachable Maven registry is reported: $(grep -o -m1 "Maven could not resolve the dependencies" <<<"$out")"
else
    not_ok "unreachable registry: exit $status, said: $(tail -n 3 <<<"$out")"
fi
finish
