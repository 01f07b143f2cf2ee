#!/usr/bin/env bash
# Remove what install.sh installed: the desktop entry, the MIME type, the icons and the
# default-program entry for application/x-dbplay-template, then refresh the databases so
# no trace of the type remains.
#
# Usage: uninstall.sh [--user] [--prefix DIR]   (the same options as given to install.sh)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
user=0
prefix="/usr/local"
while [ $# -gt 0 ]; do
  case "$1" in
    --user) user=1 ;;
    --prefix) prefix="${2:?--prefix needs a directory}"; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "uninstall.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$user" = 1 ]; then
  share="${XDG_DATA_HOME:-$HOME/.local/share}"
else
  share="$prefix/share"
fi
# install.sh's xdg-mime default wrote the invoking user's list, system-wide too.
config="${XDG_CONFIG_HOME:-$HOME/.config}"

apps="$share/applications"
rm -f "$apps/dbplay.desktop"
echo "desktop entry: removed $apps/dbplay.desktop"

rm -f "$share/mime/packages/dbplay-mime.xml"
if command -v update-mime-database >/dev/null 2>&1 && [ -d "$share/mime" ]; then
  update-mime-database "$share/mime" >/dev/null 2>&1 || true
  echo "MIME type: removed $share/mime/packages/dbplay-mime.xml (database updated)"
else
  echo "MIME type: removed $share/mime/packages/dbplay-mime.xml"
fi
# With no package left the database in $share/mime is only generated files: drop it.
if [ -d "$share/mime/packages" ] && rmdir "$share/mime/packages" 2>/dev/null; then
  rm -rf "$share/mime"
fi

icons="$share/icons/hicolor"
count=0
for src in "$here"/icons/hicolor/*/*/*; do
  rel="${src#"$here"/icons/hicolor/}"
  if [ -e "$icons/$rel" ]; then
    rm -f "$icons/$rel"
    count=$((count + 1))
  fi
  rmdir "$icons/$(dirname "$rel")" "$icons/${rel%%/*}" 2>/dev/null || true
done
rmdir "$icons" "$share/icons" 2>/dev/null || true
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$icons/index.theme" ]; then
  gtk-update-icon-cache -q -t "$icons" >/dev/null 2>&1 || true
fi
echo "icons: removed $count files from $icons"

if command -v update-desktop-database >/dev/null 2>&1 && [ -d "$apps" ]; then
  update-desktop-database -q "$apps" >/dev/null 2>&1 || true
  echo "desktop database: $apps updated"
fi
# A cache of no desktop entries at all is ours alone.
if [ -d "$apps" ] && [ -z "$(find "$apps" -name '*.desktop' -print -quit)" ]; then
  rm -f "$apps/mimeinfo.cache"
  rmdir "$apps" 2>/dev/null || true
fi

# xdg-mime default writes [Default Applications] in mimeapps.list; drop our line only.
removed=0
for list in "$config/mimeapps.list" "$apps/mimeapps.list"; do
  if [ -f "$list" ] && grep -q '^application/x-dbplay-template=' "$list"; then
    sed -i -e '/^application\/x-dbplay-template=/d' "$list"
    removed=1
    # Nothing but group headers and blank lines left: the list was ours alone.
    if ! grep -qv -e '^\[.*\]$' -e '^[[:space:]]*$' "$list"; then
      rm -f "$list"
    fi
  fi
done
echo "default program: $([ "$removed" = 1 ] && echo removed || echo none set) for application/x-dbplay-template"
