#!/usr/bin/env bash
# Cross-compiles rust/hush-jni (libhush_jni.so) for Android arm64-v8a and
# x86_64 (minSdk 26) without the Android SDK or NDK, and writes
#   build/android/jniLibs/{arm64-v8a,x86_64}/libhush_jni.so
# See tools/android/README.md.
#
# Usage: tools/android/build-native.sh [--release]
#   --release   cargo's `android` profile (release, optimised for size, fat LTO:
#               what the APK ships); debug otherwise
#
# Before building, the project's Android libc headers are checked against the
# `libc` crate's Android ABI (abi-tables.sh + cargo test -p hush-android-abi);
# after, each library is checked statically (check-native.sh). A library is
# put in build/android/jniLibs only once both passed; on any failure nothing
# half-written is left there (a stale library of an earlier build is removed).
set -euo pipefail
# shellcheck source=tools/android/toolchain.sh
source "$(dirname "$0")/toolchain.sh"
# shellcheck source=tools/android/abi-tables.sh
source "$HUSH_ANDROID_DIR/abi-tables.sh"

profile=debug
cargo_profile=()
for arg in "$@"; do
  case $arg in
  --release)
    profile=android
    cargo_profile=(--profile android)
    ;;
  -h | --help)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) hush_die "unknown argument: $arg (usage: tools/android/build-native.sh [--release])" ;;
  esac
done

cd "$HUSH_ROOT"
out=$HUSH_ROOT/build/android/jniLibs
staging=$HUSH_ANDROID_WORK/staging
rm -rf "$staging"
mkdir -p "$staging"
# Whatever an earlier build left goes first: a failed build leaves no library.
for t in "${HUSH_ANDROID_TARGETS[@]}"; do
  IFS=: read -r triple abi arch pkg <<<"$t"
  rm -f "$out/$abi/libhush_jni.so"
done

hush_android_tools
for t in "${HUSH_ANDROID_TARGETS[@]}"; do
  IFS=: read -r triple abi arch pkg <<<"$t"
  hush_android_sysroot "$triple" "$arch"
done

hush_note "checking tools/android/include against the libc crate's Android ABI"
hush_abi_tables
HUSH_ANDROID_ABI_REQUIRED=1 cargo test --quiet -p hush-android-abi >&2 ||
  hush_die "tools/android/include does not match the libc crate's Android ABI (cargo test -p hush-android-abi)"

# SQLite without dlopen() (no loadable extensions) and without mremap().
export LIBSQLITE3_FLAGS="-DSQLITE_OMIT_LOAD_EXTENSION -DHAVE_MREMAP=0"

for t in "${HUSH_ANDROID_TARGETS[@]}"; do
  IFS=: read -r triple abi arch pkg <<<"$t"
  hush_note "building hush-jni for $abi ($triple, $profile)"
  (
    hush_android_env "$triple"
    # Paths of this checkout, of cargo's registry and of the target directory
    # (generated sources) stay out of the library (panic messages name source
    # files), so where it was built does not change its bytes. The last
    # matching prefix wins: the target directory may lie inside the checkout.
    export "CARGO_TARGET_$(hush_upper "$triple")_RUSTFLAGS=--remap-path-prefix=$HUSH_ROOT=hush --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=cargo --remap-path-prefix=$HUSH_TARGET_DIR=target"
    cargo build -p hush-jni --lib --target "$triple" "${cargo_profile[@]}"
  ) || hush_die "cargo build for $triple failed"
  built=$HUSH_TARGET_DIR/$triple/$profile/libhush_jni.so
  [[ -f $built ]] || hush_die "cargo did not produce $built"
  mkdir -p "$staging/$abi"
  # What ships is stripped of debug info and the static symbol table (the
  # dynamic ones stay), as Android's Gradle plugin does; the unstripped
  # library stays in target/<triple>/<profile>/ for symbolizing crashes.
  "$LLVM_BIN/llvm-objcopy" --strip-all "$built" "$staging/$abi/libhush_jni.so.tmp"
  mv "$staging/$abi/libhush_jni.so.tmp" "$staging/$abi/libhush_jni.so"
  hush_note "$abi: $(stat -c %s "$built") bytes built, $(stat -c %s "$staging/$abi/libhush_jni.so") stripped"
done

hush_note "static checks"
bash "$HUSH_ANDROID_DIR/check-native.sh" "$staging" ||
  hush_die "the built libraries failed the static checks (tools/android/check-native.sh $staging)"

for t in "${HUSH_ANDROID_TARGETS[@]}"; do
  IFS=: read -r triple abi arch pkg <<<"$t"
  mkdir -p "$out/$abi"
  cp "$staging/$abi/libhush_jni.so" "$out/$abi/.libhush_jni.so.tmp"
  mv -f "$out/$abi/.libhush_jni.so.tmp" "$out/$abi/libhush_jni.so"
  echo "$out/$abi/libhush_jni.so ($(stat -c %s "$out/$abi/libhush_jni.so") bytes)"
done
