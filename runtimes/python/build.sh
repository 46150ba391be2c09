#!/usr/bin/env bash
# Builds lambkin's Python managed runtime:
#   target/runtimes/python$PY/runtime.wasm          the component (bootstrap + CPython, snapshotted)
#   target/runtimes/python$PY/lib/python$PY/         the standard library it imports at run time
#                                                    (.py + unchecked-hash .pyc), to be mounted
#                                                    read-only at /var/lang/lib/python$PY
#   target/runtimes/python$PY/stdlib-layer.zip       the same directory as a layer (lang/lib/...),
#                                                    i.e. /opt/lang/lib/python$PY, for hosts that
#                                                    do not mount it yet
#   target/runtimes/python$PY/build-info.json        interpreter version, magic, import survey
#
# Needs python3 (>= 3.10, for the venv) and PyPI, once: componentize-py is installed, pinned,
# into target/runtimes/venv-python. Every step is skipped when its outputs are newer than its
# inputs; FORCE=1 rebuilds everything. Never runs cargo.
set -euo pipefail

COMPONENTIZE_PY_VERSION="${COMPONENTIZE_PY_VERSION:-0.25.1}"
# The CPython that componentize-py $COMPONENTIZE_PY_VERSION embeds (checked after the build).
PY="${PY:-3.14}"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WIT="$ROOT/guest-sdk/wit/world.wit"
# The runtime's own world (runtimes/python/wit) and what it includes: lambkin's function world
# and the WASI 0.2.10 packages the Node.js runtime vendors.
WASI_WIT="$ROOT/runtimes/node/bootstrap/wit/deps"
TARGET="$ROOT/target/runtimes"
VENV="${VENV:-$TARGET/venv-python}"
OUT="$TARGET/python$PY"
CPY="$VENV/bin/componentize-py"
FORCE="${FORCE:-0}"

log() { printf '[build] %s\n' "$*" >&2; }

# up_to_date OUTPUT INPUT... : OUTPUT exists and no INPUT (file or directory tree) is newer.
up_to_date() {
    local out="$1"
    shift
    [[ "$FORCE" != 1 && -e "$out" ]] || return 1
    [[ -z "$(find "$@" -newer "$out" -print -quit 2>/dev/null)" ]]
}

# 1. componentize-py, pinned, in its own venv.
if [[ ! -x "$CPY" ]] || [[ "$("$CPY" --version 2>/dev/null)" != "componentize-py $COMPONENTIZE_PY_VERSION" ]]; then
    log "installing componentize-py==$COMPONENTIZE_PY_VERSION into $VENV (from PyPI)"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY_VERSION"
fi
STAMP_CPY="$VENV/bin/componentize-py"

mkdir -p "$OUT"
WORK="$(mktemp -d "$TARGET/.build-python.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# 2. The standard library, copied out of componentize-py and compiled by the guest's CPython.
STDLIB="$OUT/lib/python$PY"
if up_to_date "$OUT/build-info.json" "$HERE/build/stdlib_builder.py" "$STAMP_CPY" "$HERE/build.sh"; then
    log "stdlib up to date"
else
    log "extracting and compiling the standard library (in the guest's CPython)"
    # From a copy: the guest writes __pycache__ into the directories it is given.
    mkdir -p "$WORK/stdlib-out" "$WORK/builder"
    cp "$HERE/build/stdlib_builder.py" "$WORK/builder/"
    "$CPY" -q -d "$WIT" -w function componentize \
        -p "$WORK/builder" -p "$WORK/stdlib-out" stdlib_builder -o "$WORK/stdlib-builder.wasm"
    got="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$WORK/stdlib-out/build-info.json")"
    if [[ "$got" != "$PY" ]]; then
        echo "componentize-py $COMPONENTIZE_PY_VERSION embeds Python $got, not $PY: run with PY=$got" >&2
        exit 1
    fi
    rm -rf "$OUT/lib" "$OUT/stdlib-layer.zip"
    mv "$WORK/stdlib-out/lib" "$OUT/lib"
    mv "$WORK/stdlib-out/build-info.json" "$OUT/build-info.json"
fi

# 3. The stdlib as a layer (prototype: until the host mounts $STDLIB itself).
if up_to_date "$OUT/stdlib-layer.zip" "$OUT/build-info.json"; then
    log "stdlib layer up to date"
else
    log "zipping the stdlib layer"
    python3 - "$OUT/lib" "$OUT/stdlib-layer.zip" "lang/lib" <<'EOF'
import os, sys, zipfile
src, dst, prefix = sys.argv[1:]
with zipfile.ZipFile(dst + ".tmp", "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            info = zipfile.ZipInfo(prefix + "/" + os.path.relpath(path, src), (2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                z.writestr(info, f.read())
os.replace(dst + ".tmp", dst)
EOF
fi

# 4. runtime.wasm: the bootstrap (and the modules it preloads) snapshotted into the component.
if up_to_date "$OUT/runtime.wasm" "$HERE/bootstrap" "$HERE/wit" "$WIT" "$WASI_WIT" "$STAMP_CPY" "$HERE/build.sh"; then
    log "runtime.wasm up to date"
else
    log "building runtime.wasm"
    mkdir -p "$WORK/bootstrap" "$WORK/wit/deps/lambkin-function"
    cp "$HERE"/bootstrap/*.py "$WORK/bootstrap/"
    cp "$HERE/wit/world.wit" "$WORK/wit/"
    cp "$WIT" "$WORK/wit/deps/lambkin-function/"
    cp -r "$WASI_WIT/io" "$WASI_WIT/clocks" "$WASI_WIT/filesystem" "$HERE/wit/deps/http" "$WORK/wit/deps/"
    "$CPY" -q -d "$WORK/wit" -w python-runtime componentize \
        -p "$WORK/bootstrap" lambkin_bootstrap -o "$WORK/runtime.wasm"
    mv "$WORK/runtime.wasm" "$OUT/runtime.wasm"
fi

echo "componentize-py $COMPONENTIZE_PY_VERSION, Python $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["python"].split()[0])' "$OUT/build-info.json")"
echo "runtime:      $OUT/runtime.wasm ($(stat -c %s "$OUT/runtime.wasm") bytes)"
echo "stdlib:       $STDLIB  (mount read-only at /var/lang/lib/python$PY)"
echo "stdlib layer: $OUT/stdlib-layer.zip ($(stat -c %s "$OUT/stdlib-layer.zip") bytes; lands at /opt/lang/lib/python$PY)"
