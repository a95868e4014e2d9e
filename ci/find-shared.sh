#!/bin/sh
# Prints the directory holding the workplace's shared material (RFC texts, QPACK interop files, the
# HPACK Huffman table): $VQ_SHARED_DIR if set, else ../shared beside this repository, else ../shared
# beside the repository this one was cloned from (a clean clone in /tmp for a CI-style check).
# Prints nothing when none exists; the targets that need it then say so.
top=$(cd "$(dirname "$0")/.." && pwd)
for d in "${VQ_SHARED_DIR:-}" "$top/../shared"; do
  [ -n "$d" ] && [ -d "$d/rfc" ] && { (cd "$d" && pwd); exit 0; }
done
origin=$(git -C "$top" config --get remote.origin.url 2>/dev/null) || exit 0
case "$origin" in
  file://*) origin=${origin#file://} ;;
  /*|.*) ;;
  *) exit 0 ;; # a network remote: nothing beside it on this machine
esac
case "$origin" in /*) ;; *) origin="$top/$origin" ;; esac
[ -d "$origin/../shared/rfc" ] && (cd "$origin/../shared" && pwd)
exit 0
