# shellcheck shell=bash
# Sourced by tools/android/build-native.sh and tools/android/check-native.sh.
#
# Builds, without any Android SDK or NDK, what cargo needs to cross-compile
# for Android: Debian's clang/lld/llvm, the Linux UAPI headers Debian ships for
# each Android ABI, the project's own minimal libc headers
# (tools/android/include), and stub Bionic libraries generated from the symbol
# lists in tools/android/bionic. See tools/android/README.md.

# triple:ABI:arch of the Linux UAPI headers (/usr/<arch>-linux-gnu/include):Debian package
HUSH_ANDROID_TARGETS=(
  "aarch64-linux-android:arm64-v8a:aarch64:linux-libc-dev-arm64-cross"
  "x86_64-linux-android:x86_64:x86_64:linux-libc-dev-amd64-cross"
)

HUSH_ANDROID_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HUSH_ROOT=$(cd "$HUSH_ANDROID_DIR/../.." && pwd)
HUSH_TARGET_DIR=${CARGO_TARGET_DIR:-$HUSH_ROOT/target}
HUSH_ANDROID_WORK=$HUSH_TARGET_DIR/android
# The API level the libraries are linked for: the catalog's android-minSdk, which
# cargo xtask apk and the Gradle build read too. The Bionic symbol lists
# (tools/android/bionic) say what exists at this level; review them if it changes.
HUSH_ANDROID_API=$(sed -n 's/^android-minSdk *= *"\([0-9][0-9]*\)".*/\1/p' "$HUSH_ROOT/gradle/libs.versions.toml")
if [[ -z $HUSH_ANDROID_API ]]; then
  echo "error: gradle/libs.versions.toml has no android-minSdk = \"N\"" >&2
  exit 1
fi

hush_die() {
  echo "error: $*" >&2
  exit 1
}

hush_note() {
  echo "[android] $*" >&2
}

# The first LLVM installation (newest first) that has every tool we use.
hush_find_llvm() {
  local v d
  for v in 19 18 17 16 15 14; do
    d=/usr/lib/llvm-$v/bin
    if [[ -x $d/clang && -x $d/ld.lld && -x $d/llvm-ar && -x $d/llvm-readelf && -x $d/llvm-objcopy && -x $d/llvm-nm ]]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

hush_apt_install() {
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    hush_die "missing: $* (Debian packages). Install them (apt-get install $*) and run again."
  fi
  hush_note "installing Debian packages: $*"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
      hush_die "apt-get update failed; cannot install: $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
      hush_die "could not install Debian packages: $*"
  fi
}

# Sets LLVM_BIN; installs clang/lld/llvm, the UAPI headers and the Rust
# targets when missing; fails naming whatever it cannot get.
hush_android_tools() {
  local want=() t triple abi arch pkg
  if ! LLVM_BIN=$(hush_find_llvm); then
    hush_apt_install clang-19 lld-19 llvm-19
    LLVM_BIN=$(hush_find_llvm) ||
      hush_die "no usable LLVM (need clang, ld.lld, llvm-ar, llvm-readelf, llvm-objcopy, llvm-nm under /usr/lib/llvm-N/bin; packages clang-19 lld-19 llvm-19)"
  fi
  for t in "${HUSH_ANDROID_TARGETS[@]}"; do
    IFS=: read -r triple abi arch pkg <<<"$t"
    [[ -f /usr/$arch-linux-gnu/include/linux/fcntl.h && -f /usr/$arch-linux-gnu/include/asm/unistd.h ]] || want+=("$pkg")
  done
  if ((${#want[@]})); then
    hush_apt_install "${want[@]}"
  fi
  for t in "${HUSH_ANDROID_TARGETS[@]}"; do
    IFS=: read -r triple abi arch pkg <<<"$t"
    [[ -f /usr/$arch-linux-gnu/include/linux/fcntl.h ]] ||
      hush_die "missing Linux UAPI headers for $abi: /usr/$arch-linux-gnu/include (Debian package $pkg)"
  done
  command -v cargo >/dev/null || hush_die "missing: cargo (install Rust with rustup)"
  command -v rustup >/dev/null || hush_die "missing: rustup (needed to add the Android targets)"
  local installed
  installed=$(rustup target list --installed)
  want=()
  for t in "${HUSH_ANDROID_TARGETS[@]}"; do
    IFS=: read -r triple abi arch pkg <<<"$t"
    grep -qx "$triple" <<<"$installed" || want+=("$triple")
  done
  if ((${#want[@]})); then
    hush_note "rustup target add ${want[*]}"
    rustup target add "${want[@]}" >&2 ||
      hush_die "could not install the Rust standard library for: ${want[*]} (rustup target add ${want[*]})"
  fi
  hush_note "LLVM: $("$LLVM_BIN/clang" --version | head -1)"
}

# Generates assembly defining every symbol of a list: functions as a bare
# `ret` (never called: the stubs exist only to be linked against), objects as
# zero bytes of the listed size.
hush_stub_asm() {
  local list=$1
  sed -e 's/#.*//' "$list" | awk '
    NF == 0 { next }
    NF == 1 { printf ".text\n.globl %s\n.type %s,%%function\n%s:\n  ret\n", $1, $1, $1; next }
    NF == 2 && $2 == "weak" { next }
    NF == 3 && $2 == "object" {
      printf ".data\n.globl %s\n.type %s,%%object\n.size %s,%d\n.balign 8\n%s:\n  .zero %d\n", $1, $1, $1, $3, $1, $3; next
    }
    { printf "bad line in %s: %s\n", FILENAME, $0 > "/dev/stderr"; exit 1 }
  '
}

# The symbols of the project's Bionic lists, one a line (for the checks):
# all of them, or (`strong`) those a library may import non-weakly.
hush_bionic_symbols() {
  sed -e 's/#.*//' "$HUSH_ANDROID_DIR"/bionic/*.symbols |
    awk -v only="${1:-all}" 'NF && !(only == "strong" && $2 == "weak") { print $1 }' | sort -u
}

# Builds target/android/sysroot/<triple>: kernel headers, stub Bionic
# libraries, crt stand-ins, empty libunwind.a/libgcc.a; and the linker
# wrapper target/android/toolchain/<triple>/linker (C code is compiled by
# clang itself, with hush_android_cflags).
hush_android_sysroot() {
  local triple=$1 arch=$2
  local sysroot=$HUSH_ANDROID_WORK/sysroot/$triple
  local tc=$HUSH_ANDROID_WORK/toolchain/$triple
  local clang_target=$triple$HUSH_ANDROID_API
  local tmp lib d
  tmp=$(mktemp -d)
  mkdir -p "$sysroot/usr/include" "$sysroot/usr/lib" "$tc"
  # Only the kernel's headers, never a libc's.
  for d in linux asm asm-generic; do
    ln -sfn "/usr/$arch-linux-gnu/include/$d" "$sysroot/usr/include/$d"
  done
  for lib in c m dl log; do
    hush_stub_asm "$HUSH_ANDROID_DIR/bionic/lib$lib.symbols" >"$tmp/lib$lib.S" ||
      hush_die "bad symbol list tools/android/bionic/lib$lib.symbols"
    "$LLVM_BIN/clang" --target="$clang_target" -c "$tmp/lib$lib.S" -o "$tmp/lib$lib.o"
    "$LLVM_BIN/clang" --target="$clang_target" -fuse-ld=lld -shared -nostdlib \
      -Wl,-soname,lib$lib.so -Wl,-z,max-page-size=16384 "$tmp/lib$lib.o" -o "$tmp/lib$lib.so"
    mv -f "$tmp/lib$lib.so" "$sysroot/usr/lib/lib$lib.so"
  done
  for d in crtbegin_so crtend_so; do
    "$LLVM_BIN/clang" --target="$clang_target" -fPIC -O2 -nostdlibinc -c \
      "$HUSH_ANDROID_DIR/crt/$d.c" -o "$tmp/$d.o"
    mv -f "$tmp/$d.o" "$sysroot/usr/lib/$d.o"
  done
  # Rust's std for Android links -lunwind and clang adds -lgcc: the unwinder
  # is the pure-Rust `unwinding` crate (hush-jni), and Rust's own
  # compiler_builtins gives the compiler's helper functions, so both archives
  # are empty; -z defs catches anything they should have held.
  rm -f "$sysroot/usr/lib/libunwind.a" "$sysroot/usr/lib/libgcc.a"
  "$LLVM_BIN/llvm-ar" rc "$sysroot/usr/lib/libunwind.a"
  "$LLVM_BIN/llvm-ar" rc "$sysroot/usr/lib/libgcc.a"
  rm -rf "$tmp"

  # The linker: every link fails on a symbol the stubs lack (-z defs). A
  # shared library gets its file name as DT_SONAME, as the NDK's build
  # systems give it (Android's loader expects one since API 23).
  cat >"$tc/linker.tmp" <<EOF
#!/bin/sh
# Generated by tools/android/toolchain.sh: cargo's linker for $triple.
soname=
prev=
for arg in "\$@"; do
  if [ "\$prev" = "-o" ]; then
    case "\$arg" in
    *.so) soname=-Wl,-soname,\$(basename "\$arg") ;;
    esac
  fi
  prev=\$arg
done
exec "$LLVM_BIN/clang" --target=$clang_target -fuse-ld=lld --sysroot="$sysroot" \\
  -L"$sysroot/usr/lib" -Wl,-z,max-page-size=16384 -Wl,-z,defs -Wl,--no-undefined-version \\
  -Wl,--exclude-libs=ALL -Wl,--build-id=sha1 \\
  \$soname "\$@"
EOF
  chmod +x "$tc/linker.tmp"
  mv -f "$tc/linker.tmp" "$tc/linker"
}

# C flags for code compiled for Android (cc-rs: CFLAGS_<triple>).
hush_android_cflags() {
  local triple=$1
  local sysroot=$HUSH_ANDROID_WORK/sysroot/$triple
  # The headers' hash as a macro: cc-rs reruns a build script when
  # CFLAGS_<triple> changes, and so rebuilds SQLite when a header changes.
  local hash
  hash=$(cd "$HUSH_ANDROID_DIR/include" && find . -type f -name '*.h' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
  # Paths of this checkout, cargo's registry and the target directory (where
  # cc-rs builds) out of SQLite's debug info, as --remap-path-prefix does for
  # Rust: lld's build ID hashes the unstripped library, so a path there would
  # change the shipped library's ID. The last matching map wins.
  local maps="-ffile-prefix-map=$HUSH_ROOT=hush -ffile-prefix-map=${CARGO_HOME:-$HOME/.cargo}=cargo -ffile-prefix-map=$HUSH_TARGET_DIR=target"
  echo "--target=$triple$HUSH_ANDROID_API --sysroot=$sysroot -nostdlibinc -isystem $HUSH_ANDROID_DIR/include -isystem $sysroot/usr/include -DHUSH_ANDROID_HEADERS=$hash $maps"
}

# aarch64-linux-android -> AARCH64_LINUX_ANDROID, as cargo spells targets in
# its environment variables.
hush_upper() {
  local up=${1^^}
  echo "${up//-/_}"
}

# Exports what cargo and cc-rs read for one target.
hush_android_env() {
  local triple=$1
  local up
  up=$(hush_upper "$triple")
  local low=${triple//-/_}
  export "CARGO_TARGET_${up}_LINKER=$HUSH_ANDROID_WORK/toolchain/$triple/linker"
  export "CC_${low}=$LLVM_BIN/clang"
  export "CFLAGS_${low}=$(hush_android_cflags "$triple")"
  export "AR_${low}=$LLVM_BIN/llvm-ar"
}
