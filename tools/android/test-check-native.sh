#!/usr/bin/env bash
# Tests check-native.sh itself: it must pass a small library that keeps every
# rule and fail, for the right reason, each library that breaks one: a
# missing export for an `external fun` of the app, a wrong DT_SONAME, an extra export,
# a test-only JNI entry (panicForTest) exported, an import missing from the Bionic lists, a
# strong import of a symbol listed as weak, a NEEDED outside Bionic's four,
# no GNU_EH_FRAME, 4 KiB segment alignment.
# Builds the libraries with the stub sysroot (build-native.sh or
# abi-tables.sh makes it). Prints "N passed, N failed".
set -euo pipefail
# The small libraries export none of the app's JNI functions: that check is
# tested once, on its own.
export HUSH_CHECK_KOTLIN_JNI=0
# shellcheck source=tools/android/toolchain.sh
source "$(dirname "$0")/toolchain.sh"
hush_android_tools
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

cat >"$tmp/ok.c" <<'EOF'
#include <stddef.h>
void* malloc(size_t n);
int JNI_OnLoad(void* vm, void* reserved) { return malloc(1) != 0; }
void Java_org_hush_Test_f(void) {}
static void hidden_helper(void) {}
EOF
cat >"$tmp/export.c" <<'EOF'
int JNI_OnLoad(void* vm, void* reserved) { return 0; }
void Java_org_hush_Test_f(void) {}
void hush_leaked_export(void) {}
EOF
cat >"$tmp/import.c" <<'EOF'
int fork(void);
int JNI_OnLoad(void* vm, void* reserved) { return fork(); }
void Java_org_hush_Test_f(void) {}
EOF
cat >"$tmp/strongweak.c" <<'EOF'
long getrandom(void* buf, unsigned long n, unsigned flags);
int JNI_OnLoad(void* vm, void* reserved) { return (int)getrandom(0, 0, 0); }
void Java_org_hush_Test_f(void) {}
EOF
cat >"$tmp/testonly.c" <<'EOF'
int JNI_OnLoad(void* vm, void* reserved) { return 0; }
void Java_org_hush_Test_f(void) {}
void Java_org_hush_android_core_NativeCore_panicForTest(void) {}
EOF
cp "$tmp/ok.c" "$tmp/needed.c"
cp "$tmp/ok.c" "$tmp/soname.c"
cp "$tmp/ok.c" "$tmp/ehframe.c"
cp "$tmp/ok.c" "$tmp/align.c"

# case: extra linker flags
build_case() {
  local name=$1
  shift
  local t triple abi arch pkg sysroot
  for t in "${HUSH_ANDROID_TARGETS[@]}"; do
    IFS=: read -r triple abi arch pkg <<<"$t"
    sysroot=$HUSH_ANDROID_WORK/sysroot/$triple
    [[ -f $sysroot/usr/lib/libc.so ]] || hush_android_sysroot "$triple" "$arch"
    mkdir -p "$tmp/$name/$abi"
    if [[ $name == needed ]]; then
      echo 'void zlib_thing(void) {}' >"$tmp/z.c"
      "$LLVM_BIN/clang" --target="$triple$HUSH_ANDROID_API" -fuse-ld=lld -shared -nostdlib \
        -Wl,-soname,libz.so "$tmp/z.c" -o "$tmp/$abi-libz.so"
      set -- "$tmp/$abi-libz.so" -Wl,--no-as-needed
    fi
    "$LLVM_BIN/clang" --target="$triple$HUSH_ANDROID_API" -fuse-ld=lld -shared -fPIC \
      --sysroot="$sysroot" -L"$sysroot/usr/lib" -nostdlibinc -w \
      "$tmp/$name.c" -o "$tmp/$name/$abi/libhush_jni.so" "$@"
  done
}

# expect pass|fail CASE [text the failure must show, for each ABI]
expect() {
  local expected=$1 name=$2 why=${3:-} out got
  if out=$(bash "$HUSH_ANDROID_DIR/check-native.sh" "$tmp/$name" 2>&1); then got=pass; else got=fail; fi
  local t triple abi arch pkg
  for t in "${HUSH_ANDROID_TARGETS[@]}"; do
    IFS=: read -r triple abi arch pkg <<<"$t"
    if [[ -n $why ]] && ! grep -q -- "FAIL $abi: .*$why" <<<"$out"; then
      got="$got (but not for: $why, $abi)"
    fi
  done
  if [[ $got == "$expected" ]]; then
    echo "ok   $name: check-native.sh ${got}ed as it should"
    passed=$((passed + 1))
  else
    echo "FAIL $name: check-native.sh ${got}ed, expected $expected:"
    while IFS= read -r line; do echo "     $line"; done <<<"$out"
    failed=$((failed + 1))
  fi
}

build_case ok -Wl,-z,max-page-size=16384 -Wl,-soname,libhush_jni.so
HUSH_CHECK_KOTLIN_JNI=1 expect fail ok "missing JNI exports for the app's external funs: Java_org_hush_android_core_NativeCore_"
expect pass ok
build_case soname -Wl,-z,max-page-size=16384 -Wl,-soname,libother.so
expect fail soname "DT_SONAME is 'libother.so'"
build_case export -Wl,-soname,libhush_jni.so -Wl,-z,max-page-size=16384
expect fail export "exports other than Java_\*/JNI_OnLoad: hush_leaked_export"
build_case testonly -Wl,-soname,libhush_jni.so -Wl,-z,max-page-size=16384
expect fail testonly "exports test-only JNI entries .*: Java_org_hush_android_core_NativeCore_panicForTest"
build_case import -Wl,-soname,libhush_jni.so -Wl,-z,max-page-size=16384 -Wl,-z,undefs
expect fail import "not in tools/android/bionic/\*.symbols: fork"
build_case strongweak -Wl,-soname,libhush_jni.so -Wl,-z,max-page-size=16384 -Wl,-z,undefs
expect fail strongweak "listed as weak .*: getrandom"
build_case needed -Wl,-soname,libhush_jni.so -Wl,-z,max-page-size=16384
expect fail needed "NEEDED libz.so"
build_case ehframe -Wl,-soname,libhush_jni.so -Wl,-z,max-page-size=16384 -Wl,--no-eh-frame-hdr
expect fail ehframe "no GNU_EH_FRAME"
build_case align -Wl,-soname,libhush_jni.so -Wl,-z,max-page-size=4096
expect fail align "aligned to 0x1000"

echo "check-native tests: $passed passed, $failed failed"
((failed == 0))
