#!/usr/bin/env bash
# Install dbplay's desktop entry, the application/x-dbplay-template MIME type (*.dbtpl)
# and the icons, and make dbplay the default program for templates.
#
# Layout: every file this script installs sits beside it, both in the source tree
# (packaging/linux/) and in the Linux download (the dbplay/ folder):
#   install.sh  uninstall.sh  dbplay.desktop  dbplay-mime.xml
#   icons/hicolor/<N>x<N>/{apps/dbplay.png,mimetypes/application-x-dbplay-template.png}
#   icons/hicolor/scalable/{apps/dbplay.svg,mimetypes/application-x-dbplay-template.svg}
#   dbplay  (only in the download: the program the desktop entry starts)
#
# Usage: install.sh [--user] [--exec PATH] [--prefix DIR]
#   --user    install into ${XDG_DATA_HOME:-~/.local/share} instead of /usr/local/share
#   --exec    the program to start (default: ./dbplay beside this script, else dbplay on PATH)
#   --prefix  install into DIR/share (default /usr/local)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
user=0
exec_path=""
prefix="/usr/local"
while [ $# -gt 0 ]; do
  case "$1" in
    --user) user=1 ;;
    --exec) exec_path="${2:?--exec needs a path}"; shift ;;
    --prefix) prefix="${2:?--prefix needs a directory}"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$user" = 1 ]; then
  share="${XDG_DATA_HOME:-$HOME/.local/share}"
else
  share="$prefix/share"
fi

if [ -z "$exec_path" ]; then
  if [ -x "$here/dbplay" ] && [ ! -d "$here/dbplay" ]; then
    exec_path="$here/dbplay"
  elif command -v dbplay >/dev/null 2>&1; then
    exec_path="$(command -v dbplay)"
  else
    echo "install.sh: no dbplay beside this script nor on PATH; pass --exec PATH" >&2
    exit 1
  fi
fi
case "$exec_path" in
  /*) ;;
  *) exec_path="$(cd "$(dirname "$exec_path")" && pwd)/$(basename "$exec_path")" ;;
esac
# The Exec key quotes with double quotes; a path with spaces or quotes is quoted.
exec_quoted="$exec_path"
case "$exec_path" in
  *[[:space:]\"\`\$\\]*)
    escaped="$(printf '%s' "$exec_path" | sed -e 's/[\\"`$]/\\\\&/g')"
    exec_quoted="\"$escaped\"" ;;
esac

apps="$share/applications"
mkdir -p "$apps" "$share/mime/packages"
sed -e "s|^Exec=dbplay |Exec=$(printf '%s' "$exec_quoted" | sed -e 's/[|&\\]/\\&/g') |" \
  "$here/dbplay.desktop" >"$apps/dbplay.desktop"
chmod 644 "$apps/dbplay.desktop"
echo "desktop entry: $apps/dbplay.desktop (Exec=$exec_quoted %f)"

cp "$here/dbplay-mime.xml" "$share/mime/packages/dbplay-mime.xml"
chmod 644 "$share/mime/packages/dbplay-mime.xml"
if command -v update-mime-database >/dev/null 2>&1; then
  update-mime-database "$share/mime" >/dev/null 2>&1 || true
  echo "MIME type: $share/mime/packages/dbplay-mime.xml (database updated)"
else
  echo "MIME type: $share/mime/packages/dbplay-mime.xml (update-mime-database missing, not updated)"
fi

icons="$share/icons/hicolor"
count=0
for src in "$here"/icons/hicolor/*/*/*; do
  rel="${src#"$here"/icons/hicolor/}"
  mkdir -p "$icons/$(dirname "$rel")"
  cp "$src" "$icons/$rel"
  chmod 644 "$icons/$rel"
  count=$((count + 1))
done
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$icons/index.theme" ]; then
  gtk-update-icon-cache -q -t "$icons" >/dev/null 2>&1 || true
fi
touch "$icons" 2>/dev/null || true
echo "icons: $count files into $icons"

if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database -q "$apps" >/dev/null 2>&1 || true
  echo "desktop database: $apps updated"
fi

if command -v xdg-mime >/dev/null 2>&1; then
  if xdg-mime default dbplay.desktop application/x-dbplay-template >/dev/null 2>&1; then
    echo "default program: dbplay.desktop for application/x-dbplay-template"
  else
    echo "default program: xdg-mime default failed, not set"
  fi
else
  echo "default program: xdg-mime missing, not set"
fi
