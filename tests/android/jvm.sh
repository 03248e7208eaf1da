#!/usr/bin/env bash
# Hush: the Android app's JVM build-and-test harness, with no Android SDK and no Gradle.
#
# Links android-app/src/main/res with aapt2 (the R class and a resources APK for
# Robolectric), compiles android-app/src/main/kotlin against the Android 15 (API 35)
# framework (org.robolectric:android-all), then android-app/src/test/kotlin, and runs
# the JUnit 4 tests under Robolectric, offline. Everything comes from Maven Central; every version
# comes from gradle/libs.versions.toml. First builds the JNI bridge (rust/hush-jni) for
# the host with cargo, with its test-only `fault-injection` feature (NativeCore's
# panicForTest and injectFaultForTest; the Android build never has it), and hands the
# tests its path (-Dhush.jni.path), for NativeCore.
#
# usage: tests/android/jvm.sh [TEST_FILTER...]
#        tests/android/jvm.sh --main CLASS [ARG...]
#        tests/android/jvm.sh --app-classes
#   TEST_FILTER: a test class's fully qualified or simple name, or a part of it.
#   --main: runs CLASS's main (a benchmark in src/test) instead of the tests.
#   --app-classes: only compiles main (no native library, no tests) and prints, one
#     per line as NAME=VALUE, what the APK build (rust/xtask) dexes and links:
#     main-classes, app-classpath, android-classpath, android-resources,
#     proguard-classpath, dx-classpath, verifier-classpath, java-home, resource-ids
#     (aapt2's --emit-ids of the R class main was compiled with) and r-java.
# As root, the JVM runs in a network namespace made for the run (see below).
# environment:
#   HUSH_JVM_CACHE   download cache (default ~/.cache/hush-jvm); safe to delete
#   HUSH_MAVEN_CENTRAL  Maven Central's URL (default https://repo1.maven.org/maven2)
#   HUSH_JVM_OFFLINE=1  never download: fail if something is missing from the cache
#                       (and build the native library with cargo --offline)
#   CARGO_TARGET_DIR    where cargo builds the native library (default: target/)
# Closes with "jvm tests: N passed, M failed"; exits non-zero on any failure,
# on a compile error, and when no test ran.
set -euo pipefail

MAIN_CLASS=
APP_CLASSES_ONLY=0
if [ "${1:-}" = --app-classes ]; then
    APP_CLASSES_ONLY=1
    shift
elif [ "${1:-}" = --main ]; then
    [ -n "${2:-}" ] || { echo "jvm.sh: --main needs a class name" >&2; exit 2; }
    MAIN_CLASS=$2
    shift 2
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
APP=$ROOT/android-app
CATALOG=$ROOT/gradle/libs.versions.toml
CACHE=${HUSH_JVM_CACHE:-$HOME/.cache/hush-jvm}
BUILD=$APP/build/jvm
# HUSH_MAVEN_CENTRAL: another Maven Central URL (a mirror; the tests point it at a
# port nobody serves to see an unreachable registry reported).
CENTRAL=${HUSH_MAVEN_CENTRAL:-https://repo1.maven.org/maven2}

log() { echo "jvm.sh: $*" >&2; }
die() { echo "jvm.sh: error: $*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root (or sudo) to run: $*"; fi
}

apt_install() {
    log "installing $* (apt)"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1 || {
        as_root apt-get update -q >/dev/null &&
        as_root apt-get install -y -q --no-install-recommends "$@" >/dev/null
    } || die "apt-get install $* failed"
}

# ---- JDK (17 or newer: Robolectric runs SDK 35 on Java 17) ----
command -v javac >/dev/null || apt_install openjdk-17-jdk-headless
JAVAC=$(readlink -f "$(command -v javac)")
JAVA_HOME=${JAVAC%/bin/javac}
JAVA=$JAVA_HOME/bin/java
[ -x "$JAVA" ] || die "no java beside $JAVAC"
jdk_major=$("$JAVAC" -version 2>&1 | sed -n 's/^javac \([0-9]*\).*/\1/p')
[ "${jdk_major:-0}" -ge 17 ] || die "javac $jdk_major at $JAVAC: need JDK 17 or newer (apt install openjdk-17-jdk-headless)"
export JAVA_HOME
command -v python3 >/dev/null || apt_install python3

# ---- the JNI bridge, rust/hush-jni, built for the host (cargo's own target dir),
# with the test-only entries (feature fault-injection) ----
# Prints the absolute path of the shared library cargo built.
build_jni() {
    local offline=()
    [ "${HUSH_JVM_OFFLINE:-0}" = 1 ] && offline=(--offline)
    cargo build -q -p hush-jni --features fault-injection --manifest-path "$ROOT/Cargo.toml" "${offline[@]}" \
        --message-format=json-render-diagnostics |
    python3 -c '
import json, os, sys
found = []
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and "cdylib" in m["target"]["crate_types"] \
            and m["target"]["name"] == "hush_jni":
        found += [f for f in m["filenames"] if f.endswith((".so", ".dylib", ".dll"))]
if len(found) != 1:
    sys.exit(f"cargo reported {len(found)} hush_jni libraries: {found}")
print(os.path.abspath(found[0]))
'
}
if [ "$APP_CLASSES_ONLY" = 0 ]; then
    command -v cargo >/dev/null || die "no cargo: the tests need rust/hush-jni built for the host"
    t0=$SECONDS
    if ! JNI_LIB=$(build_jni) || [ ! -f "$JNI_LIB" ]; then
        log "cannot build rust/hush-jni (cargo build -p hush-jni --features fault-injection)"
        echo "jvm tests: 0 passed, 1 failed"
        exit 1
    fi
    log "native library: $JNI_LIB ($((SECONDS - t0)) s)"
fi

# ---- versions: gradle/libs.versions.toml ----
# Prints shell assignments: the Maven coordinates the harness needs, by role.
catalog() {
    python3 - "$CATALOG" <<'PY'
import shlex, sys
try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib
with open(sys.argv[1], "rb") as f:
    cat = tomllib.load(f)
versions = cat.get("versions", {})
libraries = cat.get("libraries", {})
bundles = cat.get("bundles", {})

def coord(alias):
    lib = libraries.get(alias)
    if lib is None:
        sys.exit(f"libs.versions.toml: no library '{alias}' in [libraries]")
    if isinstance(lib, str):
        return lib
    module = lib.get("module") or f"{lib['group']}:{lib['name']}"
    v = lib.get("version")
    if isinstance(v, dict):
        if "ref" not in v:
            sys.exit(f"libs.versions.toml: library '{alias}': only version or version.ref is supported")
        ref = v["ref"]
        if ref not in versions:
            sys.exit(f"libs.versions.toml: library '{alias}': no version '{ref}' in [versions]")
        v = versions[ref]
    if not isinstance(v, str) or not v:
        sys.exit(f"libs.versions.toml: library '{alias}' has no plain version")
    return f"{module}:{v}"

def bundle(name):
    if name not in bundles:
        sys.exit(f"libs.versions.toml: no bundle '{name}' in [bundles]")
    return " ".join(coord(a) for a in bundles[name])

out = {
    "KOTLINC_DEPS": coord("kotlin-compiler-embeddable"),
    "APP_DEPS": bundle("app"),
    "TEST_DEPS": bundle("unit-test"),
    "ANDROID_ALL": coord("robolectric-android-all"),
    "ANDROID_ALL_INSTRUMENTED": coord("robolectric-android-all-instrumented"),
    "ANDROID_ALL_RESOURCES": coord("robolectric-android-all-resources"),
    "PROGUARD": coord("proguard-base"),
    "DX": coord("dalvik-dx"),
    "VERIFIER": coord("asm-util"),
    "DEPENDENCY_PLUGIN": versions.get("maven-dependency-plugin", ""),
    "SDK": versions.get("android-compileSdk", ""),
    "MIN_SDK": versions.get("android-minSdk", ""),
    "TARGET_SDK": versions.get("android-targetSdk", ""),
}
for k, v in out.items():
    if not v:
        sys.exit(f"libs.versions.toml: nothing for {k}")
    print(f"{k}={shlex.quote(v)}")
PY
}
catalog_vars=$(catalog) || die "cannot read $CATALOG"
eval "$catalog_vars"

# ---- dependencies: resolved once per catalog, by Maven, into $CACHE/deps/KEY ----
# KEY covers the catalog's coordinates and this resolver's layout (bump LAYOUT when
# the directory layout below changes).
LAYOUT=2
KEY=$(printf '%s\n' "$LAYOUT" "$catalog_vars" | sha256sum | cut -c1-16)
DEPS=$CACHE/deps/$KEY

# Writes a Maven reactor into $1: one module per classpath, each writing its
# classpath (transitive, runtime scope; the jars stay in Maven's repository,
# $CACHE/m2) to $DEPS/NAME.classpath. The android-all jars come alone.
write_reactor() {
    python3 - "$1" "$DEPS" "$DEPENDENCY_PLUGIN" "$CENTRAL" \
        "kotlinc=$KOTLINC_DEPS" "app=$APP_DEPS" "test=$APP_DEPS $TEST_DEPS" \
        "android-compile=$ANDROID_ALL" "robolectric-sdk=$ANDROID_ALL_INSTRUMENTED" \
        "android-resources=$ANDROID_ALL_RESOURCES" "proguard=$PROGUARD" "dx=$DX" "verifier=$VERIFIER" <<'PY'
import os, sys
from xml.sax.saxutils import escape as x
top, deps, plugin_version, central = sys.argv[1:5]
groups = [a.split("=", 1) for a in sys.argv[5:]]

def dep_xml(c):
    parts = c.split(":")
    if len(parts) != 3:
        sys.exit(f"bad coordinates '{c}' (want group:artifact:version)")
    g, a, v = map(x, parts)
    return f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>"

head = '<?xml version="1.0" encoding="UTF-8"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><groupId>hush.jvm</groupId>'
modules = []
for name, coords in groups:
    alone = name in ("android-compile", "robolectric-sdk", "android-resources", "dx")
    config = (f"<outputFile>{x(os.path.join(deps, name + '.classpath'))}</outputFile>"
              "<includeScope>runtime</includeScope>"
              f"<excludeTransitive>{'true' if alone else 'false'}</excludeTransitive>")
    body = ("<dependencies>" + "".join(dep_xml(c) for c in coords.split()) + "</dependencies>"
            f"""<build><plugins><plugin>
  <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId>
  <version>{x(plugin_version)}</version>
  <executions><execution><id>hush</id><phase>validate</phase><goals><goal>build-classpath</goal></goals>
  <configuration>{config}</configuration></execution></executions>
</plugin></plugins></build>""")
    os.makedirs(os.path.join(top, name), exist_ok=True)
    with open(os.path.join(top, name, "pom.xml"), "w") as f:
        f.write(f"{head}<artifactId>{x(name)}</artifactId><version>0</version><packaging>pom</packaging>{body}</project>\n")
    modules.append(name)

with open(os.path.join(top, "pom.xml"), "w") as f:
    f.write(f"{head}<artifactId>all</artifactId><version>0</version><packaging>pom</packaging>"
            "<modules>" + "".join(f"<module>{x(m)}</module>" for m in modules) + "</modules></project>\n")
# Maven Central only, whatever a pom declares.
with open(os.path.join(top, "settings.xml"), "w") as f:
    f.write(f"""<settings><mirrors><mirror><id>central-only</id><mirrorOf>*</mirrorOf>
<url>{x(central)}</url></mirror></mirrors></settings>\n""")
PY
}

CLASSPATHS=(kotlinc app test android-compile robolectric-sdk android-resources proguard dx verifier)

deps_ok() { # every classpath written and every jar on it present
    [ -f "$DEPS/.complete" ] || return 1
    local name entry
    for name in "${CLASSPATHS[@]}"; do
        [ -s "$DEPS/$name.classpath" ] || return 1
        while IFS= read -r -d: entry || [ -n "$entry" ]; do
            [ -s "$entry" ] || return 1
        done <"$DEPS/$name.classpath"
    done
}

resolve() {
    [ "${HUSH_JVM_OFFLINE:-0}" = 1 ] && die "dependencies for this catalog are not all in $CACHE and HUSH_JVM_OFFLINE=1"
    command -v mvn >/dev/null || apt_install maven
    log "resolving dependencies from Maven Central into $CACHE (first run: about 650 MB)"
    rm -rf "$DEPS"
    mkdir -p "$DEPS"
    local work
    work=$(mktemp -d "$CACHE/reactor.XXXXXX")
    write_reactor "$work"
    local t0=$SECONDS
    if ! mvn -B -q -f "$work/pom.xml" -s "$work/settings.xml" \
            -Dmaven.repo.local="$CACHE/m2" validate >"$work/mvn.log" 2>&1; then
        tail -n 40 "$work/mvn.log" >&2
        die "Maven could not resolve the dependencies (full log: $work/mvn.log)"
    fi
    # An Android library (.aar, e.g. androidx.test:monitor under Robolectric) is a zip
    # whose classes.jar is what the JVM needs: extract it, and list it instead.
    local name entry out cp
    mkdir -p "$DEPS/aar"
    for name in "${CLASSPATHS[@]}"; do
        [ -s "$DEPS/$name.classpath" ] || die "Maven wrote no classpath for $name"
        cp=
        while IFS= read -r -d: entry || [ -n "$entry" ]; do
            if [[ $entry == *.aar ]]; then
                out=$DEPS/aar/$(basename "${entry%.aar}").jar
                python3 -c 'import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("classes.jar") as i, open(sys.argv[2], "wb") as o:
    shutil.copyfileobj(i, o)' "$entry" "$out" || die "no classes.jar in $entry"
                entry=$out
            fi
            cp=${cp:+$cp:}$entry
        done <"$DEPS/$name.classpath"
        printf '%s' "$cp" >"$DEPS/$name.classpath"
    done
    rm -rf "$work"
    touch "$DEPS/.complete"
    deps_ok || die "dependencies incomplete after resolving (in $DEPS)"
    log "resolved in $((SECONDS - t0)) s"
}

mkdir -p "$CACHE/deps"
deps_ok || resolve

classpath() { LC_ALL=C tr ':' '\n' <"$DEPS/$1.classpath" | LC_ALL=C sort | paste -sd: -; }
KOTLINC_CP=$(classpath kotlinc)
ANDROID_CP=$(classpath android-compile)
APP_CP=$(classpath app)
TEST_CP=$(classpath test)
SDK_JAR=$(classpath robolectric-sdk)
# Robolectric, offline, looks in one directory for ARTIFACT-VERSION.jar: Maven's
# repository keeps the instrumented jar under exactly that name.
SDK_DIR=$(dirname "$SDK_JAR")

mkdir -p "$BUILD"
# What the Android Gradle plugin would hand Robolectric: the merged manifest (the
# app's, with the package from gradle.properties and <uses-sdk> from the catalog, as
# the plugin injects them) and the package.
# The resources APK (android_resource_apk, below) is what aapt2 linked from
# src/main/res: Robolectric reads the app's strings and drawables from it.
CONFIG=$BUILD/test-config
mkdir -p "$CONFIG/com/android/tools"
python3 - "$APP/src/main/AndroidManifest.xml" "$BUILD/AndroidManifest.xml" \
    "$CONFIG/com/android/tools/test_config.properties" "$MIN_SDK" "$TARGET_SDK" "$ROOT/gradle.properties" \
    "$BUILD/resources/resources.apk" <<'PY' || die "cannot merge android-app/src/main/AndroidManifest.xml"
import re, sys
src, merged, props, min_sdk, target_sdk, gradle_props, resource_apk = sys.argv[1:]
text = open(src, encoding="utf-8").read()
m = re.search(r"<manifest\b[^>]*>", text)
if not m:
    sys.exit(f"{src}: no <manifest>")
if re.search(r'\bpackage\s*=', m.group(0)):
    sys.exit(f"{src}: the package comes from gradle.properties (hush.applicationId), not the manifest")
package = None
for line in open(gradle_props, encoding="utf-8"):
    key, _, value = line.partition("=")
    if key.strip() == "hush.applicationId":
        package = value.strip()
if not package:
    sys.exit(f"{gradle_props}: no hush.applicationId")
head = m.group(0)[:-1] + f' package="{package}">'
text = text[:m.start()] + head + f'\n    <uses-sdk android:minSdkVersion="{min_sdk}" ' \
    f'android:targetSdkVersion="{target_sdk}" />' + text[m.end():]
open(merged, "w", encoding="utf-8").write(text)
open(props, "w", encoding="utf-8").write(
    f"android_merged_manifest={merged}\nandroid_custom_package={package}\n"
    f"android_resource_apk={resource_apk}\n")
PY

# ---- resources: aapt2 compile + link of src/main/res (skipped when unchanged) ----
# As the Android Gradle plugin does for a unit test with includeAndroidResources: the
# app's resource table as an APK for Robolectric (android_resource_apk), and the R
# class (org.hush.android.R: the package is the namespace, which is the application
# id) that main compiles against. `aapt2 compile --pseudo-localize` adds en-XA and
# ar-XB (what AGP's pseudoLocalesEnabled adds), for the pseudo-locale test. aapt2 is
# Debian's (package aapt); the framework table it links against is android-all's
# (API 34: this aapt2 cannot read API 35's). --emit-ids writes the IDs R holds, which
# the APK build (rust/xtask) links with (--stable-ids) so that its table matches the
# constants compiled into the classes.
command -v aapt2 >/dev/null || apt_install aapt
RES_OUT=$BUILD/resources
R_CLASSES=$BUILD/r-classes
res_fail() { # as a compile error: the tally too, except for the APK build
    echo "jvm.sh: error: $*" >&2
    [ "$APP_CLASSES_ONLY" = 1 ] || echo "jvm tests: 0 passed, 1 failed"
    exit 1
}
resources() {
    local stamp t0=$SECONDS framework_jar
    framework_jar=$(classpath android-resources)
    stamp=$({ printf '%s\n' "$framework_jar" "$MIN_SDK" "$TARGET_SDK" "$JAVA_HOME"
              aapt2 version 2>&1
              sha256sum "$BUILD/AndroidManifest.xml" "${BASH_SOURCE[0]}"
              (cd "$APP/src/main" && find res -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
            } | sha256sum | cut -c1-64)
    if [ -f "$RES_OUT.stamp" ] && [ "$(cat "$RES_OUT.stamp")" = "$stamp" ] &&
            [ -f "$RES_OUT/resources.apk" ] && [ -f "$R_CLASSES.stamp" ]; then
        log "resources: up to date"
        return 0
    fi
    rm -rf "$RES_OUT" "$RES_OUT.stamp" "$R_CLASSES" "$R_CLASSES.stamp"
    mkdir -p "$RES_OUT/gen" "$R_CLASSES"
    python3 - "$framework_jar" "$RES_OUT/framework.apk" <<'PY' || die "no framework resource table in $framework_jar"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as src, zipfile.ZipFile(sys.argv[2], "w") as out:
    for name in ("AndroidManifest.xml", "resources.arsc"):
        out.writestr(name, src.read(name))
PY
    aapt2 compile --pseudo-localize --dir "$APP/src/main/res" -o "$RES_OUT/compiled.zip" ||
        res_fail "aapt2 compile failed on android-app/src/main/res"
    # This aapt2 (2.19) leaves <plurals> as they are in en-XA: they are accented here,
    # as newer aapt2 does (letters accented, placeholders and <xliff:g> kept, the text
    # bracketed and lengthened), and linked over its output.
    python3 - "$APP/src/main/res/values/strings.xml" "$RES_OUT/pseudo/values-en-rXA/strings.xml" <<'PY' ||
import os, re, sys
import xml.etree.ElementTree as ET
ACCENTS = dict(zip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                   "åɓçðéƒĝĥîĵķļḿñöþǫŕšţûṽŵẋýžÅβÇÐÉƑĜĤÎĴĶĻḾÑÖÞǪŔŠŢÛṼŴẊÝŽ"))
PADDING = "one two three four five six seven eight nine ten".split()
XLIFF = "{urn:oasis:names:tc:xliff:document:1.2}g"
FORMAT = re.compile(r"%(\d+\$)?[-#+ 0,(]*\d*(\.\d+)?[a-zA-Z%]")
def accent(text):
    out, i = [], 0
    for m in FORMAT.finditer(text):
        out.append("".join(ACCENTS.get(c, c) for c in text[i:m.start()])); out.append(m.group()); i = m.end()
    out.append("".join(ACCENTS.get(c, c) for c in text[i:]))
    return "".join(out)
ET.register_namespace("xliff", XLIFF[1:XLIFF.index("}")])
root = ET.parse(sys.argv[1]).getroot()
out = ET.Element("resources")
for plurals in root.findall("plurals"):
    copy = ET.SubElement(out, "plurals", name=plurals.get("name"))
    for item in plurals.findall("item"):
        new = ET.SubElement(copy, "item", quantity=item.get("quantity"))
        words = len("".join(item.itertext()).split())
        new.text = "[" + accent(item.text or "")
        last = new
        for child in item:
            kept = ET.SubElement(new, child.tag, child.attrib)
            kept.text = child.text  # a placeholder: as it is
            kept.tail = accent(child.tail or "")
            last = kept
        pad = " " + " ".join(PADDING[:max(1, words // 2 + 1)]) + "]"
        if last is new: new.text += pad
        else: last.tail += pad
os.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True)
ET.ElementTree(out).write(sys.argv[2], encoding="utf-8", xml_declaration=True)
PY
        res_fail "cannot write the en-XA plurals"
    aapt2 compile --dir "$RES_OUT/pseudo" -o "$RES_OUT/pseudo.zip" ||
        res_fail "aapt2 compile failed on the en-XA plurals"
    # <property> (API 31) is newer than this aapt2's manifest schema: a warning only.
    aapt2 link --warn-manifest-validation -I "$RES_OUT/framework.apk" \
        --manifest "$BUILD/AndroidManifest.xml" \
        --min-sdk-version "$MIN_SDK" --target-sdk-version "$TARGET_SDK" \
        --java "$RES_OUT/gen" --emit-ids "$RES_OUT/ids.txt" \
        -o "$RES_OUT/resources.apk" "$RES_OUT/compiled.zip" -R "$RES_OUT/pseudo.zip" 2>"$RES_OUT/link.log" || {
        cat "$RES_OUT/link.log" >&2
        res_fail "aapt2 link failed on android-app/src/main/res"
    }
    local r_java
    r_java=$(find "$RES_OUT/gen" -name R.java)
    [ -n "$r_java" ] || die "aapt2 link wrote no R.java"
    "$JAVAC" -nowarn --release 8 -d "$R_CLASSES" "$r_java" 2>/dev/null ||
        "$JAVAC" -nowarn -source 8 -target 8 -d "$R_CLASSES" "$r_java" || die "cannot compile $r_java"
    echo "$stamp" >"$R_CLASSES.stamp"
    echo "$stamp" >"$RES_OUT.stamp"
    log "resources: linked in $((SECONDS - t0)) s ($(grep -c 'public static final int' "$r_java") ids)"
}
resources

# ---- compile (skipped when sources, classpath and flags are unchanged) ----
MAIN_FLAGS=(-module-name hush-app -jvm-target 1.8 -Xlambdas=class -Xsam-conversions=class -Xjdk-release=1.8)
# Tests see main's internal declarations (-Xfriend-paths), as under Gradle.
TEST_FLAGS=(-module-name hush-app-test -jvm-target 17)

kotlinc() {
    "$JAVA" -Xmx1g -Xss4m -XX:+UseParallelGC -cp "$KOTLINC_CP" \
        org.jetbrains.kotlin.cli.jvm.K2JVMCompiler \
        -no-stdlib -no-reflect -jdk-home "$JAVA_HOME" \
        "$@"
}

# compile NAME SRC OUT CLASSPATH FLAGS...
compile() {
    local name=$1 src=$2 out=$3 cp=$4; shift 4
    local stamp
    local e entries
    IFS=: read -ra entries <<<"$cp"
    stamp=$({ printf '%s\n' "$cp" "$*" "$KOTLINC_CP" "$JAVA_HOME"
              # Class directories on the classpath (main, for test) by their own stamps.
              for e in "${entries[@]}"; do [ -f "$e.stamp" ] && cat "$e.stamp"; done
              find "$src" -type f -name '*.kt' -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
            } | sha256sum | cut -c1-64)
    if [ -f "$out.stamp" ] && [ "$(cat "$out.stamp")" = "$stamp" ] && [ -d "$out" ]; then
        log "$name: up to date"
        return 0
    fi
    rm -rf "$out" "$out.stamp"
    mkdir -p "$out"
    local t0=$SECONDS
    if [ -z "$(find "$src" -type f -name '*.kt' -print -quit 2>/dev/null)" ]; then
        log "$name: no Kotlin sources in $src"
    elif ! kotlinc -classpath "$cp" -d "$out" "$@" "$src"; then
        rm -rf "$out"
        log "compile error in android-app/src/$name/kotlin"
        # (The APK build reads --app-classes' output: no test tally there.)
        [ "$APP_CLASSES_ONLY" = 1 ] || echo "jvm tests: 0 passed, 1 failed"
        exit 1
    fi
    echo "$stamp" >"$out.stamp"
    log "$name: compiled in $((SECONDS - t0)) s"
}

compile main "$APP/src/main/kotlin" "$BUILD/main-classes" "$R_CLASSES:$ANDROID_CP:$APP_CP" "${MAIN_FLAGS[@]}"
# R is part of the app's classes, as under Gradle (the APK build dexes main-classes).
cp -R "$R_CLASSES/." "$BUILD/main-classes/"
if [ "$APP_CLASSES_ONLY" = 1 ]; then
    printf '%s=%s\n' main-classes "$BUILD/main-classes" app-classpath "$APP_CP" \
        android-classpath "$ANDROID_CP" android-resources "$(classpath android-resources)" \
        proguard-classpath "$(classpath proguard)" dx-classpath "$(classpath dx)" \
        verifier-classpath "$(classpath verifier)" java-home "$JAVA_HOME" \
        resource-ids "$RES_OUT/ids.txt" r-java "$(find "$RES_OUT/gen" -name R.java)"
    exit 0
fi
compile test "$APP/src/test/kotlin" "$BUILD/test-classes" \
    "$BUILD/main-classes:$ANDROID_CP:$TEST_CP" "${TEST_FLAGS[@]}" -Xfriend-paths="$BUILD/main-classes"

# ---- the runner and Robolectric's view of the app ----
RUNNER=$BUILD/runner
runner_src=$ROOT/tests/android/JvmTestMain.java
if [ ! -f "$RUNNER/JvmTestMain.class" ] || [ "$runner_src" -nt "$RUNNER/JvmTestMain.class" ]; then
    rm -rf "$RUNNER"; mkdir -p "$RUNNER"
    "$JAVAC" -nowarn -d "$RUNNER" -cp "$TEST_CP" "$runner_src" || die "cannot compile $runner_src"
fi


# ---- run ----
find "$BUILD/test-classes" -name '*.class' ! -name '*$*' -printf '%P\n' |
    sed 's/\.class$//; s|/|.|g' | LC_ALL=C sort >"$BUILD/test-classes.txt"

RUN_CP=$BUILD/test-classes:$BUILD/main-classes
[ -d "$APP/src/test/resources" ] && RUN_CP=$RUN_CP:$APP/src/test/resources
# android-all last, as the Android Gradle plugin puts android.jar on a unit test's
# classpath: JUnit reads @Config (whose defaults name android.* classes) outside the
# sandbox; inside it, Robolectric loads android.* from the instrumented jar.
RUN_CP=$RUN_CP:$CONFIG:$TEST_CP:$RUNNER:$ANDROID_CP

# Tests that need a real network (a tun device, a resolver) run as root in a network
# namespace of their own, made here, with only a loopback: nothing they do can reach
# the host's network. They see its name in HUSH_JVM_NETNS.
NETNS=()
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
    netns=hush-jvm-$$
    ip netns add "$netns" || die "cannot create network namespace $netns"
    trap 'ip netns del "$netns" 2>/dev/null || true' EXIT
    ip -n "$netns" link set lo up
    NETNS=(ip netns exec "$netns" env HUSH_JVM_NETNS="$netns")
fi

JAVA_FLAGS=(-Xmx2g -XX:+UseParallelGC
    -Djava.io.tmpdir="${TMPDIR:-/tmp}"
    -Drobolectric.offline=true
    -Drobolectric.dependency.dir="$SDK_DIR"
    -Dhush.jni.path="$JNI_LIB"
    -Dhush.app.dir="$APP"
    # The native tests hand a file's descriptor number to the core, as
    # ParcelFileDescriptor does on Android; the JVM keeps it in java.io.
    --add-opens java.base/java.io=ALL-UNNAMED
    -cp "$RUN_CP")

if [ -n "$MAIN_CLASS" ]; then
    log "running $MAIN_CLASS"
    "${NETNS[@]}" "$JAVA" "${JAVA_FLAGS[@]}" "$MAIN_CLASS" "$@"
    exit
fi
log "running tests (Robolectric, SDK $SDK, offline)"
"${NETNS[@]}" "$JAVA" "${JAVA_FLAGS[@]}" JvmTestMain "$BUILD/test-classes.txt" "$@"
