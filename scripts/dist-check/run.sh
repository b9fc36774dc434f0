#!/usr/bin/env bash
# `make dist-check`: use what `make dist` built as a new user would, with no cargo or rustc on
# PATH (nothing here may compile Rust): the wheel in a fresh venv, the npm tarballs in a fresh
# ESM and a fresh CommonJS project; a smoke test in each, the type checks, and the Node test
# suite against the release addon. Nothing is built here: the artifacts in dist/ are reused.
# Usage: run.sh NODE...   (each a node binary: the machine's, then the fetched LTS lines)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/scripts/dist-check"
dist="$root/dist"
nodes=("$@")
[ ${#nodes[@]} -gt 0 ] || nodes=(node)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say() { printf 'dist-check [%3ss] %s\n' "$SECONDS" "$*"; }
die() { printf 'dist-check: FAILED: %s\n' "$*" >&2; exit 1; }
# Runs "$@" with its output kept in a log, shown only when it fails.
quiet() { local log; log=$(mktemp "$work/log.XXXXXX"); "$@" >"$log" 2>&1 || { cat "$log" >&2; die "$*"; }; }

# --- no Rust toolchain from here on ------------------------------------------------------
clean_path=""
IFS=: read -ra parts <<<"$PATH"
for d in "${parts[@]}"; do
  [ -e "$d/cargo" ] || [ -e "$d/rustc" ] || clean_path="${clean_path:+$clean_path:}$d"
done
export PATH="$clean_path"
unset CARGO RUSTC RUSTUP_TOOLCHAIN CARGO_TARGET_DIR
! command -v cargo >/dev/null && ! command -v rustc >/dev/null || die "cargo/rustc still on PATH"
say "PATH has no cargo or rustc"

shopt -s nullglob
wheels=("$dist"/paybond_kit-*.whl) sdists=("$dist"/paybond_kit-*.tar.gz)
tgz_main=("$dist"/paybond-kit-[0-9]*.tgz) tgz_plat=("$dist"/paybond-kit-*-*-*.tgz)
shopt -u nullglob
[ ${#wheels[@]} -eq 1 ] && [ ${#sdists[@]} -eq 1 ] && [ ${#tgz_main[@]} -eq 1 ] && [ ${#tgz_plat[@]} -ge 1 ] \
  || die "expected one wheel, one sdist, paybond-kit-<v>.tgz and a platform tarball in dist/ (run make dist)"
wheel=${wheels[0]} sdist=${sdists[0]}

# --- Python (in the background, beside the npm part) ------------------------------------
python_checks() {
  py=${PYTHON:-python3}
  # Pin the frameworks to the versions the dev venv tests with (and pip's cache already has).
  constraints="$root/bindings-python/requirements-dev.txt"
  "$py" -m venv "$work/py"
  quiet "$work/py/bin/python" -m pip install -q --disable-pip-version-check -c "$constraints" "$wheel[langgraph]"
  (cd "$work" && "$work/py/bin/python" "$here/smoke.py")
  # The wheel is abi3: also load it on the other CPythons this machine has (core API only).
  for v in 3.12 3.13; do
    other=""
    for cand in "python$v" "$(pyenv root 2>/dev/null)/versions/$v"*/bin/"python$v"; do
      if "$cand" -c "" 2>/dev/null; then other=$cand; break; fi
    done
    if [ -z "$other" ]; then say "python $v: not on this machine, skipped"; continue; fi
    "$other" -m venv "$work/py$v"
    quiet "$work/py$v/bin/python" -m pip install -q --disable-pip-version-check "$wheel"
    (cd "$work" && "$work/py$v/bin/python" "$here/smoke.py" --core)
  done
  # The sdist without cargo: maturin would download a Rust toolchain; ours stops at once.
  start=$SECONDS
  if "$work/py/bin/python" -m pip install --disable-pip-version-check --no-cache-dir "$sdist" >"$work/sdist.log" 2>&1; then
    die "pip install of the sdist succeeded without cargo"
  fi
  grep -q "building from source needs Rust" "$work/sdist.log" || { cat "$work/sdist.log" >&2; die "the sdist failed without the expected message"; }
  ! grep -qi "puccinialin\|installing into a temporary directory" "$work/sdist.log" || die "the sdist tried to install Rust"
  say "pip install of the sdist without cargo: refused in $((SECONDS - start)) s with the message, no toolchain download"
}
python_checks >"$work/python.log" 2>&1 &
python_pid=$!

# --- npm --------------------------------------------------------------------------------
bn="$root/bindings-node"
dev() { node -p "require('$bn/package.json').devDependencies['$1']"; }
deps=("langchain@$(dev langchain)" "@langchain/core@$(dev @langchain/core)" "@langchain/langgraph@$(dev @langchain/langgraph)"
      "@openai/agents@$(dev @openai/agents)" "zod@$(dev zod)" "typescript@$(dev typescript)" "@types/node@$(dev @types/node)")
quiet node "$bn/node_modules/@arethetypeswrong/cli/dist/index.js" --format ascii "${tgz_main[0]}"
say "attw: no problems (node10, node16 CJS, node16 ESM, bundler; every entry point)"

# Without the platform package, the import fails with an error that names both.
p="$work/noplat"
mkdir -p "$p" && echo '{ "name": "dist-check-noplat", "private": true }' >"$p/package.json"
quiet npm install --prefix "$p" --no-audit --no-fund --prefer-offline --omit=optional "${tgz_main[0]}"
(cd "$p" && node -e '
  try { require("paybond-kit"); } catch (e) {
    if (e.code === "PAYBOND_NATIVE_MODULE_NOT_FOUND" && e.message.includes(e.platform) && e.message.includes(e.packageName)) {
      console.log(`dist-check: without ${e.packageName}: ${e.message.split(":").slice(0, 2).join(":")}: ... (names the platform and the package)`);
      process.exit(0);
    }
    console.error(e); process.exit(1);
  }
  console.error("loaded without the platform package"); process.exit(1);') || die "the loader error without the platform package"

# The ESM and the CommonJS project are checked side by side (npm and tsc wait on each other's I/O).
check_project() {
  kind=$1
  p="$work/$kind"
  mkdir -p "$p"
  type=$([ $kind = esm ] && echo module || echo commonjs)
  printf '{ "name": "dist-check-%s", "private": true, "type": "%s" }\n' "$kind" "$type" >"$p/package.json"
  quiet npm install --prefix "$p" --no-audit --no-fund --prefer-offline "${tgz_main[0]}" "${tgz_plat[@]}" "${deps[@]}"
  node -e "
    const m = require('$p/node_modules/paybond-kit/package.json');
    const want = Object.keys(m.optionalDependencies || {});
    for (const n of want) require.resolve(n + '/package.json', { paths: ['$p'] });
    if (!want.length) throw new Error('paybond-kit has no optionalDependencies');
  " || die "the platform package was not installed through optionalDependencies"
  node "$here/readme-snippets.mjs" "$bn/README.md" "$p" "$kind" >/dev/null
  cp "$here/smoke.ts" "$p/"
  [ $kind = esm ] && cp "$root/examples/node/openai_agents_guarded.ts" "$p/"
  cat >"$p/tsconfig.json" <<EOF
{ "compilerOptions": { "target": "ES2022", "lib": ["ES2022", "ESNext.Disposable"], "module": "nodenext",
    "moduleResolution": "nodenext", "strict": true, "skipLibCheck": false, "types": ["node"], "outDir": "out" },
  "include": ["*.ts"] }
EOF
  # skipLibCheck off, so paybond-kit's own .d.ts files are checked too. Third-party ones have
  # errors of their own under this TypeScript (DOM types, @types/node): only errors in this
  # project's files or in paybond-kit's count (tsc still emits).
  (cd "$p" && node node_modules/typescript/bin/tsc -p . >"$work/tsc.$kind.log" 2>&1 || true)
  if grep -E '^(node_modules/paybond-kit/|[^/]+\.ts\()' "$work/tsc.$kind.log" >&2 || [ ! -f "$p/out/smoke.js" ]; then
    die "tsc --strict in the $kind project"
  fi
  say "$kind ($type, nodenext, strict): README snippets, smoke$([ $kind = esm ] && echo ', examples/node') compile; paybond-kit's .d.ts check clean"
  for n in "${nodes[@]}"; do
    (cd "$p" && "$n" out/smoke.js)
  done
}
check_project esm >"$work/esm.log" 2>&1 &
esm_pid=$!
check_project cjs >"$work/cjs.log" 2>&1 &
cjs_pid=$!
for kind in esm cjs; do
  pid=$([ $kind = esm ] && echo $esm_pid || echo $cjs_pid)
  if wait "$pid"; then cat "$work/$kind.log"; else cat "$work/$kind.log" >&2; die "the $kind project"; fi
done

# --- the Node test suite on the release addon, on every Node version at once ---------------
# The suite loads bindings-node/native/<binary>.<platform>.node (napi's loader; its
# NAPI_RS_NATIVE_LIBRARY_PATH would also redirect the other napi-rs packages in the process).
# Put the shipped addon there for the run, and put back what was there before.
plat_node=("$bn"/npm/*/*.node)
[ -f "${plat_node[0]}" ] || die "no release addon in bindings-node/npm/*/ (run make dist)"
dev_node="$bn/native/$(basename "${plat_node[0]}")"
# (A new file renamed into place: a process that has the old one loaded keeps its copy.)
put() { cp -f "$1" "$dev_node.tmp" && mv -f "$dev_node.tmp" "$dev_node"; }
restore() { if [ -f "$work/dev.node" ]; then put "$work/dev.node"; else rm -f "$dev_node"; fi; }
[ ! -f "$dev_node" ] || cp "$dev_node" "$work/dev.node"
trap 'restore; rm -rf "$work"' EXIT
put "${plat_node[0]}"
# The first node is the machine's: `make test-node` already ran the whole suite on it (debug
# addon) and the smoke tests above ran the release addon on it; the suite runs again here on the
# other LTS lines (all of them when only one is given).
suite=("${!nodes[@]}")
[ "${#nodes[@]}" -gt 1 ] && suite=("${suite[@]:1}")
pids=()
for i in "${suite[@]}"; do
  (cd "$bn" && "${nodes[$i]}" node_modules/vitest/vitest.mjs run \
    >"$work/vitest.$i.log" 2>&1) &
  pids[$i]=$!
done
failed=0
for i in "${suite[@]}"; do
  v=$("${nodes[$i]}" -v)
  if wait "${pids[$i]}"; then
    say "vitest on node $v (release addon): $(sed 's/\x1b\[[0-9;]*m//g' "$work/vitest.$i.log" | grep -E '^ +Tests ' | tr -s ' ')"
  else
    cat "$work/vitest.$i.log" >&2; failed=1; say "vitest on node $v: FAILED"
  fi
done
[ $failed = 0 ] || die "the Node test suite failed"
wait "$python_pid" || { cat "$work/python.log" >&2; die "the Python checks"; }
cat "$work/python.log"
say "all checks passed"
