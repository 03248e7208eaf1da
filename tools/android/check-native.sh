#!/usr/bin/env bash
# Static checks of built Android JNI libraries (nothing here runs Android):
#
#   - DT_SONAME is libhush_jni.so; no TEXTREL, RPATH or RUNPATH;
#   - NEEDED is a subset of {libc.so, libm.so, libdl.so, liblog.so};
#   - the dynamic symbols it defines (exports) are only Java_* and JNI_OnLoad,
#     and include one for every `external fun` of android-app/src/main, except
#     the test-only entries (TEST_ONLY_JNI), which it must NOT export: they
#     exist only in the host library the JVM tests load (hush-jni's
#     `fault-injection` feature);
#   - every symbol it leaves undefined is in tools/android/bionic/*.symbols;
#   - every LOAD segment is aligned to 16 KiB (Android 15+ 16 KiB pages);
#   - a GNU_EH_FRAME segment (the unwinder's index of unwind tables);
#   - it is an ELF shared object for the ABI its folder names.
#
# Usage: tools/android/check-native.sh [DIR]   (default build/android/jniLibs)
# DIR holds <abi>/libhush_jni.so for arm64-v8a and x86_64.
set -euo pipefail
# shellcheck source=tools/android/toolchain.sh
source "$(dirname "$0")/toolchain.sh"

LLVM_BIN=${LLVM_BIN:-$(hush_find_llvm)} || hush_die "no LLVM tools found (run tools/android/build-native.sh first)"
readelf=$LLVM_BIN/llvm-readelf
dir=${1:-$HUSH_ROOT/build/android/jniLibs}
allowed_needed="libc.so libdl.so liblog.so libm.so"
bionic=$(hush_bionic_symbols)

# `external fun`s of the app that a shipped library must not have: they make
# the native code panic or inject faults (rust/hush-jni, feature
# fault-injection; NativeCore documents them as UnsatisfiedLinkError on a phone).
TEST_ONLY_JNI="panicForTest injectFaultForTest"

# The JNI entry points the app declares: `external fun NAME` in the Kotlin
# sources of android-app/src/main, each file being one class or object named
# as the file, in its `package`; JNI's short name mangling ("_" -> "_1").
# HUSH_CHECK_KOTLIN_JNI=0 skips this (test-check-native.sh's small libraries).
kotlin_jni_symbols() {
  local f pkg cls name
  while IFS= read -r f; do
    pkg=$(sed -n 's/^package \([A-Za-z0-9_.]*\).*/\1/p' "$f" | head -1)
    cls=$(basename "$f" .kt)
    sed -n 's/.*external fun \([A-Za-z0-9_]*\).*/\1/p' "$f" | while IFS= read -r name; do
      [[ " $TEST_ONLY_JNI " == *" $name "* ]] && continue
      pkg=${pkg//_/_1}
      echo "Java_${pkg//./_}_${cls//_/_1}_${name//_/_1}"
    done
  done < <(grep -rl --include='*.kt' 'external fun' "$HUSH_ROOT/android-app/src/main" 2>/dev/null || true)
}
if [[ ${HUSH_CHECK_KOTLIN_JNI:-1} == 1 ]]; then
  jni_wanted=$(kotlin_jni_symbols | sort -u)
  [[ -n $jni_wanted ]] || hush_die "no 'external fun' found in android-app/src/main"
else
  jni_wanted=
fi
bionic_strong=$(hush_bionic_symbols strong)
failed=0

# Joins lines into one, space-separated.
words() {
  tr '\n' ' ' <<<"$1" | sed 's/ *$//'
}

fail() {
  echo "FAIL $*" >&2
  failed=1
  abi_failed=1
}

for t in "${HUSH_ANDROID_TARGETS[@]}"; do
  IFS=: read -r triple abi arch pkg <<<"$t"
  so=$dir/$abi/libhush_jni.so
  abi_failed=0
  if [[ ! -f $so ]]; then
    fail "$abi: missing $so"
    continue
  fi
  case $arch in
  aarch64) machine=AArch64 ;;
  x86_64) machine="Advanced Micro Devices X86-64" ;;
  esac
  header=$("$readelf" -h "$so")
  grep -q "Type:.*DYN" <<<"$header" || fail "$abi: not a shared object"
  grep -q "Machine:.*$machine" <<<"$header" || fail "$abi: machine is not $machine"

  dynamic=$("$readelf" -d "$so")
  soname=$(sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p' <<<"$dynamic")
  [[ $soname == libhush_jni.so ]] || fail "$abi: DT_SONAME is '$soname', not libhush_jni.so"
  ! grep -Eq '\((TEXTREL|RPATH|RUNPATH)\)' <<<"$dynamic" || fail "$abi: has TEXTREL, RPATH or RUNPATH"
  ! grep -q 'FLAGS.*TEXTREL' <<<"$dynamic" || fail "$abi: has TEXTREL, RPATH or RUNPATH"

  # NEEDED
  needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dynamic" | sort)
  for n in $needed; do
    [[ " $allowed_needed " == *" $n "* ]] || fail "$abi: NEEDED $n is not one of: $allowed_needed"
  done

  # Dynamic symbols: columns of llvm-readelf --dyn-syms:
  # Num: Value Size Type Bind Vis Ndx Name
  syms=$("$readelf" --dyn-syms --wide "$so" | awk '$1 ~ /^[0-9]+:$/ && NF >= 8 { print $4, $5, $6, $7, $8 }')
  exported=$(awk '$4 != "UND" && $5 != "" { print $5 }' <<<"$syms" | sed 's/@.*//' | sort -u)
  bad_exports=$(grep -Ev '^(Java_.*|JNI_OnLoad)$' <<<"$exported" || true)
  [[ -z $bad_exports ]] || fail "$abi: exports other than Java_*/JNI_OnLoad: $(words "$bad_exports")"
  grep -qx JNI_OnLoad <<<"$exported" || fail "$abi: JNI_OnLoad not exported"
  test_only=$(grep -E "^Java_.*_($(tr ' ' '|' <<<"$TEST_ONLY_JNI"))\$" <<<"$exported" || true)
  [[ -z $test_only ]] || fail "$abi: exports test-only JNI entries (built with feature fault-injection?): $(words "$test_only")"
  n_java=$(grep -c '^Java_' <<<"$exported" || true)
  ((n_java > 0)) || fail "$abi: no Java_* entry point exported"
  if [[ -n $jni_wanted ]]; then
    missing_jni=$(comm -23 <(echo "$jni_wanted") <(echo "$exported") | grep -v '^$' || true)
    [[ -z $missing_jni ]] || fail "$abi: missing JNI exports for the app's external funs: $(words "$missing_jni")"
  fi

  undefined=$(awk '$4 == "UND" && $5 != "" { print $5 }' <<<"$syms" | sed 's/@.*//' | sort -u)
  strong=$(awk '$4 == "UND" && $5 != "" && $2 != "WEAK" { print $5 }' <<<"$syms" | sed 's/@.*//' | sort -u)
  unknown=$(comm -23 <(echo "$undefined") <(echo "$bionic") | grep -v '^$' || true)
  [[ -z $unknown ]] || fail "$abi: undefined symbols not in tools/android/bionic/*.symbols: $(words "$unknown")"
  not_weak=$(comm -23 <(echo "$strong") <(echo "$bionic_strong") | grep -v '^$' || true)
  [[ -z $not_weak ]] || fail "$abi: imported non-weakly but listed as weak (missing at API 26): $(words "$not_weak")"

  # LOAD segments: Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align
  phdrs=$("$readelf" -l --wide "$so")
  aligns=$(awk '$1 == "LOAD" { print $NF }' <<<"$phdrs")
  # The unwinder (the `unwinding` crate, which every entry point's
  # catch_unwind relies on) finds unwind tables through PT_GNU_EH_FRAME.
  grep -q '^ *GNU_EH_FRAME ' <<<"$phdrs" || fail "$abi: no GNU_EH_FRAME segment (panics could not unwind)"
  [[ -n $aligns ]] || fail "$abi: no LOAD segment"
  for a in $aligns; do
    ((a >= 16384 && a % 16384 == 0)) || fail "$abi: LOAD segment aligned to $a, not 16 KiB"
  done

  size=$(stat -c %s "$so")
  ((abi_failed == 0)) || continue
  echo "ok   $abi: $size bytes; NEEDED: $(words "$needed"); exports: JNI_OnLoad + $n_java Java_* ($(grep -c . <<<"$jni_wanted" || true) app external funs, all there);" \
    "undefined: $(wc -w <<<"$undefined") ($(wc -w <<<"$strong") strong), all in the Bionic lists; LOAD aligns: $(words "$aligns")"
done

if ((failed)); then
  echo "check-native: FAILED" >&2
  exit 1
fi
echo "check-native: all checks passed"
