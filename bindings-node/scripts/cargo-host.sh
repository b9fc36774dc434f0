#!/usr/bin/env bash
# `napi build` runs "$CARGO build ... --target <host triple>", which would compile every
# dependency a second time under target/<triple>/ (minutes on 2 cores). For a host build this
# drops the flag so the addon shares target/debug with the rest of the workspace, then puts the
# library where the napi CLI looks for it. Cross builds pass through unchanged.
set -euo pipefail
real=${REAL_CARGO:-cargo}
[ "${1:-}" = build ] || exec "$real" "$@"
host=$("$real" -vV 2>/dev/null | sed -n 's/^host: //p' || rustc -vV | sed -n 's/^host: //p')
args=() triple="" profile=debug target_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target) triple=$2; shift 2; continue ;;
    --target-dir) target_dir=$2 ;;
    --release) profile=release ;;
  esac
  args+=("$1"); shift
done
if [ -n "$triple" ] && [ "$triple" != "$host" ]; then
  exec "$real" "${args[@]}" --target "$triple"
fi
"$real" "${args[@]}"
[ -n "$triple" ] || exit 0
dir=${target_dir:-${CARGO_TARGET_DIR:-$("$real" metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')}}
mkdir -p "$dir/$triple/$profile"
for f in "$dir/$profile"/libpaybond_kit_node.{so,dylib} "$dir/$profile"/paybond_kit_node.dll; do
  [ -e "$f" ] && cp -f "$f" "$dir/$triple/$profile/"
done
exit 0
