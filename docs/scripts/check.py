"""make docs-check: run every code sample of the docs against a real dev server.

1. Every Python / TypeScript / Rust block in docs/pages and README.md is an include of a file
   under docs/snippets/ (``--8<-- "python/x.py"``) or is marked as deliberately partial with
   ``<!-- docs-check: skip: <reason> -->`` on the line before it; every snippet file is
   included by some page.
2. Python snippets run with the repo's .venv (``test_*.py`` under pytest); Node snippets are
   type-checked with ``tsc --strict`` (nodenext) and run with tsx (``*.test.ts`` under
   ``node --test``); Rust snippets are built and run as examples of the integration crate.
   They use LocalHarbor in-process; a snippet whose header says ``docs-check: env`` gets a dev
   server, an API key and a funded intent from the environment instead
   (``PAYBOND_GATEWAY_URL``, ``PAYBOND_HARBOR_URL``, ``PAYBOND_API_KEY``,
   ``PAYBOND_INTENT_ID``, ``PAYBOND_CAPABILITY_TOKEN``, ``PAYBOND_SIGNAL_KEY_HEX``).

Usage: python docs/scripts/check.py [--only NAME_SUBSTRING] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = DOCS / "pages"
SNIPPETS = DOCS / "snippets"
WORK = ROOT / "target/docs-check"
PY = ROOT / ".venv/bin/python"
NODE_MODULES = ROOT / "bindings-node/node_modules"
CHECKED_LANGS = {"python", "py", "ts", "typescript", "js", "javascript", "rust", "rs"}
RUST_EXAMPLES = {"quickstart.rs": "docs_quickstart"}  # snippet -> [[example]] of tests/Cargo.toml
TIMEOUT = 120
BUILD_TIMEOUT = 900  # compiling the Rust examples on a cold target/ (a fresh clone) takes minutes

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")
INCLUDE = re.compile(r"""^\s*-{1,}8<-{1,}\s+["']([^"':]+)(?::[^"']*)?["']\s*$""")
SKIP = re.compile(r"<!--\s*docs-check:\s*skip:\s*(\S.*?)\s*-->")
# A block that runs as written inside a prelude (docs/snippets/preludes/<file>) that defines the
# names it uses: the block replaces the prelude's `docs-check: block` line, at its indentation.
WITH = re.compile(r"<!--\s*docs-check:\s*with:\s*(\S+?)\s*-->")
PRELUDES = SNIPPETS / "preludes"


@dataclass
class Result:
    name: str
    ok: bool
    seconds: float
    output: str = ""


def blocks(path: Path) -> list[tuple[int, str, list[str], str | None]]:
    """(line, language, body lines, skip reason or ``with:<prelude>``) of each fenced block."""
    out = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group("fence"), m.group("info").strip()
        lang = re.split(r"[\s{]", info, maxsplit=1)[0].lower() if info else ""
        start = i
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        prev = [ln for ln in lines[max(0, start - 3):start] if ln.strip()]
        skip = next((SKIP.search(ln).group(1) for ln in reversed(prev[-2:]) if SKIP.search(ln)), None)  # type: ignore[union-attr]
        if skip is None:
            skip = next((f"with:{WITH.search(ln).group(1)}" for ln in reversed(prev[-2:]) if WITH.search(ln)), None)  # type: ignore[union-attr]
        out.append((start + 1, lang, body, skip))
        i += 1
    return out


def check_blocks() -> tuple[list[str], set[str], int, list[tuple[str, str, str]]]:
    """Problems, the snippet files the pages include, how many blocks were skipped, and the
    blocks that run inside a prelude: (generated file name, language, text)."""
    problems: list[str] = []
    included: set[str] = set()
    generated: list[tuple[str, str, str]] = []
    skipped = 0
    for md in sorted(PAGES.rglob("*.md")) + [ROOT / "README.md"]:
        rel = md.relative_to(ROOT)
        for line, lang, body, skip in blocks(md):
            incs = [INCLUDE.match(b) for b in body if b.strip()]
            if incs and all(incs):
                included.update(m.group(1) for m in incs if m)  # type: ignore[union-attr]
                continue
            if lang not in CHECKED_LANGS:
                continue
            if skip and skip.startswith("with:"):
                prelude = skip[len("with:"):]
                included.add(f"preludes/{prelude}")
                text = in_prelude(PRELUDES / prelude, textwrap.dedent("\n".join(body)))
                if text is None:
                    problems.append(f"{rel}:{line}: prelude docs/snippets/preludes/{prelude} is missing or has no "
                                    "`docs-check: block` line")
                    continue
                stem = re.sub(r"[^a-z0-9]+", "_", f"{rel.with_suffix('')}_{line}".lower()).strip("_")
                ext = ".py" if lang in ("python", "py") else ".ts"
                generated.append((f"gen_{stem}{ext}", lang, text))
                continue
            if skip:
                skipped += 1
                continue
            problems.append(f"{rel}:{line}: a {lang} block that is neither an include of docs/snippets/ nor marked "
                            "<!-- docs-check: skip: <reason> --> or <!-- docs-check: with: <prelude> -->")
    for name in sorted(included):
        if not (SNIPPETS / name).is_file():
            problems.append(f"included snippet docs/snippets/{name} does not exist")
    for f in sorted(SNIPPETS.rglob("*")):
        rel = f.relative_to(SNIPPETS).as_posix()
        if f.is_file() and f.suffix in (".py", ".ts", ".rs") and rel not in included:
            problems.append(f"docs/snippets/{rel} is not included by any page")
    return problems, included, skipped, generated


def in_prelude(prelude: Path, block: str) -> str | None:
    """The prelude with ``block`` in place of its ``docs-check: block`` line (same indentation)."""
    if not prelude.is_file():
        return None
    out, found = [], False
    for ln in prelude.read_text().splitlines():
        if ln.strip() in ("# docs-check: block", "// docs-check: block"):
            pad = ln[: len(ln) - len(ln.lstrip())]
            out.extend(pad + b if b.strip() else "" for b in block.splitlines())
            found = True
        else:
            out.append(ln)
    return "\n".join(out) + "\n" if found else None


def wants_env(path: Path) -> bool:
    return "docs-check: env" in "\n".join(path.read_text().splitlines()[:6])


def run(name: str, cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = TIMEOUT) -> Result:
    t = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        ok, out = p.returncode == 0, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        ok, out = False, f"timed out after {timeout} s\n{e.stdout or ''}{e.stderr or ''}"
    return Result(name, ok, time.monotonic() - t, out)


class DevEnv:
    """One dev server for the ``docs-check: env`` snippets: a fresh intent per snippet."""

    def __init__(self) -> None:
        from paybond_kit.testing import LocalHarbor

        self.harbor = LocalHarbor().start()

    def env_for(self, base: dict[str, str]) -> dict[str, str]:
        h = self.harbor
        i = h.create_intent(allowed_tools=["search", "book_hotel"], amount_cents=1000, payee_did="did:payee:docs")
        return {**base, "PAYBOND_GATEWAY_URL": h.gateway_url, "PAYBOND_HARBOR_URL": h.harbor_url,
                "PAYBOND_API_KEY": h.api_key, "PAYBOND_INTENT_ID": i.intent_id,
                "PAYBOND_CAPABILITY_TOKEN": i.capability_token, "PAYBOND_SIGNAL_KEY_HEX": h.signal_public_key_hex}

    def stop(self) -> None:
        self.harbor.stop()


def prepare_node() -> Path:
    """target/docs-check/node: the snippets next to a node_modules that points at the kit and at
    bindings-node's own dependencies (one copy of every framework, as an app would have)."""
    d = WORK / "node"
    if d.exists():
        shutil.rmtree(d)
    nm = d / "node_modules"
    nm.mkdir(parents=True)
    for entry in NODE_MODULES.iterdir():
        if entry.name.startswith("."):
            continue
        (nm / entry.name).symlink_to(entry)
    (nm / "paybond-kit").symlink_to(ROOT / "bindings-node")
    (d / "package.json").write_text('{"private": true, "type": "module"}\n')
    (d / "tsconfig.json").write_text(
        '{"compilerOptions": {"target": "ES2022", "lib": ["ES2022", "ESNext.Disposable"], "module": "nodenext",'
        ' "moduleResolution": "nodenext", "strict": true, "noEmit": true, "skipLibCheck": true,'
        ' "noUnusedLocals": true, "types": ["node"],'
        ' "incremental": true, "tsBuildInfoFile": "../tsc-snippets.tsbuildinfo"}, "include": ["*.ts"]}\n')
    for f in sorted((SNIPPETS / "node").glob("*.ts")):
        shutil.copy(f, d / f.name)
    return d


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    started = time.monotonic()

    problems, included, skipped, generated = check_blocks()
    for p in problems:
        print(f"docs-check: {p}")
    gen_py = WORK / "python"
    if gen_py.exists():
        shutil.rmtree(gen_py)
    gen_py.mkdir(parents=True)
    for name, _lang, text in generated:
        if name.endswith(".py"):
            (gen_py / name).write_text(text)
    py = sorted(f for f in (SNIPPETS / "python").glob("*.py") if args.only in f.name)
    py += sorted(f for f in gen_py.glob("*.py") if args.only in f.name)
    ts = sorted(f for f in (SNIPPETS / "node").glob("*.ts") if args.only in f.name)
    gen_ts = [(n, t) for n, lang, t in generated if n.endswith(".ts") and args.only in n]
    rs = sorted(f for f in (SNIPPETS / "rust").glob("*.rs") if args.only in f.name)
    for f in rs:
        if f.name not in RUST_EXAMPLES:
            problems.append(f"docs/snippets/rust/{f.name} has no [[example]] (add it to RUST_EXAMPLES and tests/Cargo.toml)")

    base = {k: v for k, v in os.environ.items() if not k.startswith("PAYBOND_")}
    base.update(NO_COLOR="1", FORCE_COLOR="0")
    dev = DevEnv() if any(wants_env(f) for f in py + ts) else None
    node_dir = prepare_node() if ts or gen_ts else None
    for name, text in gen_ts:
        (node_dir / name).write_text(text)  # type: ignore[operator]
        ts.append(node_dir / name)  # type: ignore[operator]
    tsx = ["node", "--import", "tsx"]
    results: list[Result] = []
    try:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            # Type-check every Node snippet once, and build the Rust examples, first.
            tsc = pool.submit(run, "node: tsc --strict (all snippets)", [str(NODE_MODULES / ".bin/tsc"), "-p", "."],
                              node_dir, base) if node_dir else None
            cargo = pool.submit(run, "rust: cargo build --examples",
                                # --workspace: the features `make test-rust` built with (-p would resolve
                                # another feature set and rebuild the dependency tree); the bindings are
                                # left out as there (maturin / napi build them, with their own environment)
                                ["cargo", "build", "-q", "--workspace", "--exclude", "paybond-kit-python",
                                 "--exclude", "paybond-kit-node",
                                 *[a for f in rs for a in ("--example", RUST_EXAMPLES.get(f.name, f.stem))]],
                                ROOT, base, BUILD_TIMEOUT) if rs else None
            jobs = []
            for f in py:
                env = dev.env_for(base) if dev and wants_env(f) else base
                if f.name.startswith("test_"):
                    cmd = [str(PY), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o",
                           "asyncio_default_fixture_loop_scope=function", f.name]
                else:
                    cmd = [str(PY), f.name]
                jobs.append(pool.submit(run, f"python: {f.name}", cmd, f.parent, env))
            for f in ts:
                env = dev.env_for(base) if dev and wants_env(f) else base
                cmd = [*tsx, "--test", f.name] if f.name.endswith(".test.ts") else [*tsx, f.name]
                jobs.append(pool.submit(run, f"node: {f.name}", cmd, node_dir, env))  # type: ignore[arg-type]
            if tsc:
                results.append(tsc.result())
            if cargo:
                results.append(c := cargo.result())
                for f in rs:
                    exe = ROOT / "target/debug/examples" / RUST_EXAMPLES.get(f.name, f.stem)
                    results.append(run(f"rust: {f.name}", [str(exe)], ROOT, base) if c.ok
                                   else Result(f"rust: {f.name}", False, 0, "not built"))
            results.extend(j.result() for j in jobs)
    finally:
        if dev:
            dev.stop()

    for r in results:
        print(f"{'ok  ' if r.ok else 'FAIL'} {r.seconds:5.1f}s  {r.name}")
        if not r.ok or os.environ.get("DOCS_CHECK_VERBOSE"):
            print("      " + r.output.strip().replace("\n", "\n      ")[-6000:])
    passed = sum(r.ok for r in results)
    failed = len(results) - passed + len(problems)
    print(f"docs-check: {len(py)} Python, {len(ts)} Node, {len(rs)} Rust snippets ({len(generated)} of them page "
          f"blocks run inside a prelude); {skipped} partial blocks skipped "
          f"(marked); {len(problems)} page problem(s); {time.monotonic() - started:.0f} s")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
