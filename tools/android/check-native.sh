#!/usr/bin/env bash
# Static checks of built Android JNI libraries (nothing here runs Android):
#
#   - DT_SONAME is libhush_jni.so; no TEXTREL, RPATH or RUNPATH;
#   - NEEDED is a subset of {libc.so, libm.so, libdl.so, liblog.so};
#   - the dynamic symbols it defines (exports) are only Java_* and JNI_OnLoad;
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
  n_java=$(grep -c '^Java_' <<<"$exported" || true)
  ((n_java > 0)) || fail "$abi: no Java_* entry point exported"

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
  echo "ok   $abi: $size bytes; NEEDED: $(words "$needed"); exports: JNI_OnLoad + $n_java Java_*;" \
    "undefined: $(wc -w <<<"$undefined") ($(wc -w <<<"$strong") strong), all in the Bionic lists; LOAD aligns: $(words "$aligns")"
done

if ((failed)); then
  echo "check-native: FAILED" >&2
  exit 1
fi
echo "check-native: all checks passed"
