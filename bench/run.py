"""`make bench`: runs every benchmark twice in one go and writes BENCHMARKS.md.

Needs the dev build (`make python-dev node-build` and `cargo build -p paybond-bench -p paybond-devserver`),
which `make bench` does first. The reference kit (paybond-kit==0.2.0 from PyPI, built from source)
goes into its own venv, bench/.ref-venv.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "target" / "debug"
OURS_PY = ROOT / ".venv" / "bin" / "python"
REF_VENV = ROOT / "bench" / ".ref-venv"
REF_PY = REF_VENV / "bin" / "python"
REF_PINS = ["paybond-kit==0.2.0", "langgraph==1.2.22", "langchain-core==1.7.2"]


def log(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


def ensure_ref_venv() -> None:
    marker = REF_VENV / ".installed"
    if marker.exists():
        return
    log("installing the reference kit (paybond-kit==0.2.0, built from source) into bench/.ref-venv")
    subprocess.run([sys.executable, "-m", "venv", str(REF_VENV)], check=True)
    subprocess.run([str(REF_PY), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    env = dict(os.environ, CARGO_TARGET_DIR=str(ROOT / "target" / "ref-kit"))
    subprocess.run([str(REF_PY), "-m", "pip", "install", "-q", *REF_PINS], check=True, env=env)
    marker.touch()


def start(cmd: list[str], keys: list[str]) -> tuple[subprocess.Popen[str], dict[str, str]]:
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    got: dict[str, str] = {}
    assert p.stdout is not None
    while not all(k in got for k in keys):
        line = p.stdout.readline()
        if not line:
            raise RuntimeError(f"{cmd[0]} exited early")
        if "=" in line:
            k, v = line.strip().split("=", 1)
            got[k] = v
    return p, got


def run_json(cmd: list[str]) -> dict[str, Any]:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def dev_intent(gateway: str, api_key: str) -> tuple[str, str]:
    req = urllib.request.Request(
        f"{gateway}/dev/v1/intents",
        data=json.dumps({"allowed_tools": ["search"], "amount_cents": 10**12}).encode(),
        headers={"authorization": f"Bearer {api_key}", "content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as r:
        d = json.loads(r.read())
    return d["intent_id"], d["capability_token"]


# The clients stay up for a whole round and are driven block by block, taking turns in a rotating
# order (a block is well under a second), so the slow phases of a shared 2-core VM hit every client
# alike; each ratio is the median of per-block ratios between blocks run next to each other.
SEQ_BLOCKS, SEQ_N, REF_SEQ_N = 30, 100, 40  # sequential verifies per block (the reference is ~5x slower)
CONC_BLOCKS, CONC_N, REF_CONC_N = 12, 1600, 320  # verifies by 64 tasks per block
SIGN_BLOCKS, SIGN_N = 8, 2000  # evidence signatures per block
TOOLNODE_BLOCKS, TOOLNODE_N = 12, 20  # scripted LangGraph ToolNode calls per block (fixed server)


class Client:
    """A bench client process (py_bench.py or rust-floor) answering one JSON line per command."""

    def __init__(self, name: str, cmd: list[str]) -> None:
        self.name = name
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.p.stdout is not None
        if self.p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{name}: exited before it was ready")

    def ask(self, cmd: str) -> dict[str, Any]:
        assert self.p.stdin is not None and self.p.stdout is not None
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name}: exited on {cmd!r}")
        out: dict[str, Any] = json.loads(line)
        if "error" in out:
            raise RuntimeError(f"{self.name}: {out['error']}")
        return out

    def close(self) -> None:
        assert self.p.stdin is not None
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
            self.p.wait(timeout=10)
        finally:
            self.p.kill()


def summarize(seq: list[list[float]], conc: list[float], **more: Any) -> dict[str, Any]:
    """Pooled p50/p99 over every sequential block, median req/s; the blocks stay for the ratios."""
    pooled = sorted(x for b in seq for x in b)
    out: dict[str, Any] = {
        "p50_us": statistics.median(pooled), "p99_us": pooled[round((len(pooled) - 1) * 0.99)],
        "rps_64": statistics.median(conc), "seq": seq, "conc": conc,
    }
    if more.get("sign"):
        out["sign_per_s"], out["sign"] = statistics.median(more["sign"]), more["sign"]
    if more.get("toolnode"):
        tn = sorted(x for b in more["toolnode"] for x in b)
        out["toolnode_p50_us"], out["toolnode_p99_us"] = statistics.median(tn), tn[round((len(tn) - 1) * 0.99)]
        out["toolnode"] = more["toolnode"]
    return out


def verify_blocks(gw: str, hb: str, key: str, iid: str, tok: str, toolnode: bool) -> dict[str, Any]:
    py = str(ROOT / "bench/py_bench.py")
    tn = ["--toolnode"] if toolnode else []
    clients = {
        "ours": Client("python ours", [str(OURS_PY), py, "ours", gw, hb, key, iid, tok, *tn]),
        "ref": Client("python reference", [str(REF_PY), py, "ref", gw, hb, key, iid, tok, *tn]),
        "rust": Client("rust floor", [str(BIN / "rust-floor"), gw, hb, key, iid, tok]),
    }
    names = list(clients)
    got: dict[str, dict[str, list[Any]]] = {n: {"seq": [], "conc": [], "sign": [], "toolnode": []} for n in names}

    def turns(k: int) -> list[str]:
        return names[k % 3:] + names[: k % 3]

    try:
        for n, c in clients.items():  # warm-up, not recorded
            c.ask(f"seq {REF_SEQ_N if n == 'ref' else SEQ_N}")
            c.ask(f"conc {REF_CONC_N if n == 'ref' else 640}")
        # Every kind of block is spread over the whole round (one of each per turn while they
        # last), so each figure samples the same stretch of the host's fast and slow phases.
        for k in range(max(SEQ_BLOCKS, CONC_BLOCKS, SIGN_BLOCKS, TOOLNODE_BLOCKS)):
            if k < SEQ_BLOCKS:
                for n in turns(k):
                    got[n]["seq"].append(clients[n].ask(f"seq {REF_SEQ_N if n == 'ref' else SEQ_N}")["lat"])
            if k < CONC_BLOCKS:
                for n in turns(k):
                    got[n]["conc"].append(clients[n].ask(f"conc {REF_CONC_N if n == 'ref' else CONC_N}")["rps"])
            if k < SIGN_BLOCKS:
                for n in ("ours", "ref")[:: 1 if k % 2 == 0 else -1]:
                    got[n]["sign"].append(clients[n].ask(f"sign {SIGN_N}")["sign_per_s"])
            if toolnode and k < TOOLNODE_BLOCKS:
                for n in ("ours", "ref")[:: 1 if k % 2 == 0 else -1]:
                    got[n]["toolnode"].append(clients[n].ask(f"toolnode {TOOLNODE_N}")["lat"])
    finally:
        for c in clients.values():
            c.close()
    return {n: summarize(**got[n]) for n in names}


def one_round(fixed: str, dev: dict[str, str], intent: str, token: str, extras: bool) -> dict[str, Any]:
    """One round of every comparison; `extras` adds the refresh storm and the memory run (round 1 only)."""
    res: dict[str, Any] = {}
    targets = {
        "fixed": (fixed, fixed, "paybond_sk_sandbox_bench", "11111111-1111-4111-8111-111111111111", "bench-token"),
        "devserver": (dev["PAYBOND_GATEWAY_URL"], dev["PAYBOND_HARBOR_URL"], dev["PAYBOND_API_KEY"], intent, token),
    }
    py = str(ROOT / "bench/py_bench.py")
    for name, (gw, hb, key, iid, tok) in targets.items():
        log(f"python against the {name} server: ours, reference, Rust floor, in interleaved blocks")
        res[name] = verify_blocks(gw, hb, key, iid, tok, toolnode=name == "fixed")
    log("node: ours vs fetch in interleaved blocks, signing" + (", storm, memory" if extras else ""))
    node = run_json(["node", "--expose-gc", str(ROOT / "bench/node_bench.mjs"), fixed, dev["PAYBOND_GATEWAY_URL"], dev["PAYBOND_HARBOR_URL"], dev["PAYBOND_API_KEY"], intent, token,
                     str(SEQ_BLOCKS), str(SEQ_N), str(CONC_BLOCKS), str(CONC_N), "1" if extras else "0"])
    for srv in ("fixed", "devserver"):
        node[srv] = {who: summarize(**node[srv][who]) for who in ("ours", "fetch")}
    res["node"] = node
    if extras:
        log("python storm and memory")
        res["py_storm_mem"] = run_json([str(OURS_PY), py.replace("py_bench", "py_storm_mem"), fixed, fixed])
    return res


def paired(x: dict[str, Any], y: dict[str, Any], kind: str) -> float:
    """Median over blocks of x/y, each block of x set against y's block of the same turn.

    `seq`/`toolnode` compare block medians of latency; `conc`/`sign` compare the block rates.
    """
    if kind in ("seq", "toolnode"):
        return statistics.median(statistics.median(a) / statistics.median(b) for a, b in zip(x[kind], y[kind], strict=True))
    return statistics.median(a / b for a, b in zip(x[kind], y[kind], strict=True))


def ratios(r: dict[str, Any]) -> dict[str, float]:
    f, d, n = r["fixed"], r["devserver"], r["node"]
    return {
        "py_seq_vs_ref_fixed": paired(f["ours"], f["ref"], "seq"),
        "py_seq_vs_ref_dev": paired(d["ours"], d["ref"], "seq"),
        "py_seq_vs_rust_fixed": paired(f["ours"], f["rust"], "seq"),
        "py_seq_vs_rust_dev": paired(d["ours"], d["rust"], "seq"),
        "py_rps_vs_ref_fixed": paired(f["ours"], f["ref"], "conc"),
        "py_rps_vs_ref_dev": paired(d["ours"], d["ref"], "conc"),
        "toolnode_vs_ref": paired(f["ours"], f["ref"], "toolnode"),
        "node_seq_vs_fetch_fixed": paired(n["fixed"]["ours"], n["fixed"]["fetch"], "seq"),
        "node_seq_vs_fetch_dev": paired(n["devserver"]["ours"], n["devserver"]["fetch"], "seq"),
        "node_rps_vs_fetch_fixed": paired(n["fixed"]["ours"], n["fixed"]["fetch"], "conc"),
        "node_rps_vs_fetch_dev": paired(n["devserver"]["ours"], n["devserver"]["fetch"], "conc"),
        "sign_vs_ref": paired(f["ours"], f["ref"], "sign"),
    }


TARGETS = [
    ("Python sequential latency vs reference (fixed server)", "py_seq_vs_ref_fixed", "<=", 0.35),
    ("Python sequential latency vs reference (dev server)", "py_seq_vs_ref_dev", "<=", 0.35),
    ("Python sequential latency vs Rust floor (fixed server)", "py_seq_vs_rust_fixed", "<=", 1.5),
    ("Python sequential latency vs Rust floor (dev server)", "py_seq_vs_rust_dev", "<=", 1.5),
    ("Python 64-task throughput vs reference (fixed server)", "py_rps_vs_ref_fixed", ">=", 3.0),
    ("Python 64-task throughput vs reference (dev server)", "py_rps_vs_ref_dev", ">=", 3.0),
    ("Node sequential latency vs fetch (fixed server)", "node_seq_vs_fetch_fixed", "<=", 0.5),
    ("Node sequential latency vs fetch (dev server)", "node_seq_vs_fetch_dev", "<=", 0.5),
    ("Node 64-task throughput vs fetch (fixed server)", "node_rps_vs_fetch_fixed", ">=", 1.5),
    ("Node 64-task throughput vs fetch (dev server)", "node_rps_vs_fetch_dev", ">=", 1.5),
    ("Evidence signing vs reference (Python)", "sign_vs_ref", ">=", 1.5),
]


def sh(cmd: str) -> str:
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


STABLE = 0.20  # each ratio's round-2 value within ±20% of round 1


def write(rounds: list[dict[str, Any]], seconds: float) -> None:
    rs = [ratios(r) for r in rounds]
    L: list[str] = []
    L.append("# Benchmarks\n")
    started = os.environ.get("BENCH_STARTED")
    total = f", {(time.time() - float(started)) / 60:.1f} min with builds and installs" if started else ""
    L.append(f"Generated by `make bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: measuring took {seconds / 60:.1f} min{total}. Every figure below was measured in this one run, on this "
             "machine, side by side. The whole suite ran twice (round 1, round 2) to show how stable the ratios are.\n")
    L.append("## Machine\n")
    mem = sh("free -g | awk '/Mem:/{print $2}'")
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    L.append(f"- {sh('nproc')} cores, {mem} GiB, CPU: {cpu}")
    L.append(f"- Linux {platform.release()}, Python {platform.python_version()}, Node {sh('node --version')}, {sh('rustc --version')}")
    L.append("- Builds: the same dev build the tests use (dependencies and the kit's crates at opt-level 2).")
    L.append("- Reference kit: `paybond-kit==0.2.0` from PyPI (httpx client), built from source into `bench/.ref-venv`.\n")
    L.append("## Command\n\n```sh\nmake bench\n```\n")
    L.append("Servers: **fixed** = a minimal Rust loopback server answering harbor-access and `/verify` with constant JSON "
             "(the client's own overhead); **dev server** = `paybond-devserver` (real JWT and Biscuit checks, ledger writes).\n")
    L.append(f"Method: in each round the clients stay up and take turns in small blocks, in a rotating order: Python ours, "
             f"the reference and the Rust floor (separate processes), Node ours and `fetch` (one process). Sequential: "
             f"{SEQ_BLOCKS} blocks of {SEQ_N} verifies each (reference: {REF_SEQ_N}) after a warm-up block; p50/p99 pool every block. "
             f"Throughput: {CONC_BLOCKS} blocks of {CONC_N} verifies by 64 concurrent tasks (reference: {REF_CONC_N}); the median "
             f"block. Signing: {SIGN_BLOCKS} blocks of {SIGN_N} per kit, in calls per CPU-second. ToolNode: {TOOLNODE_BLOCKS} blocks "
             f"of {TOOLNODE_N} per kit. Each ratio is the median of the per-block ratios (a block against the other client's "
             f"block of the same turn), so the slow phases of a shared VM hit both sides alike. Each round uses a fresh dev server.\n")
    for k, r in enumerate(rounds, 1):
        L.append(f"## Round {k}\n")
        L.append("| verify | server | p50 µs | p99 µs | req/s (64 tasks) |\n|---|---|---:|---:|---:|")
        for srv in ("fixed", "devserver"):
            for who, v in (
                ("Python ours", r[srv]["ours"]), ("Python reference 0.2.0", r[srv]["ref"]), ("Rust core (floor)", r[srv]["rust"]),
                ("Node ours", r["node"][srv]["ours"]), ("Node plain fetch", r["node"][srv]["fetch"]),
            ):
                L.append(f"| {who} | {srv} | {v['p50_us']:.0f} | {v['p99_us']:.0f} | {v['rps_64']:.0f} |")
        t_o, t_r = r["fixed"]["ours"], r["fixed"]["ref"]
        L.append(f"\nLangGraph `ToolNode` (fixed server, {TOOLNODE_BLOCKS} × {TOOLNODE_N} sequential scripted tool calls per kit): "
                 f"ours p50 {t_o['toolnode_p50_us']:.0f} µs / p99 {t_o['toolnode_p99_us']:.0f} µs (`paybond_awrap_tool_call`); "
                 f"reference p50 {t_r['toolnode_p50_us']:.0f} µs / p99 {t_r['toolnode_p99_us']:.0f} µs (`paybond_awrap_tool_call_capability`).\n")
        L.append(f"Evidence signing (calls per CPU-second, median block): Python ours {r['fixed']['ours']['sign_per_s']:.0f}, "
                 f"Python reference {r['fixed']['ref']['sign_per_s']:.0f}, Node ours {r['node']['sign_per_s']:.0f}.\n")
    r = rounds[0]
    L.append("## Refresh storm and memory\n")
    ps, ns = r["py_storm_mem"]["storm"], r["node"]["storm"]
    L.append(f"Refresh storm (measured once, in round 1; 1000 concurrent guarded calls just past a 3 s JWT's expiry, dev server): Python {ps['exchanges_after_expiry']} exchange(s), p99 {ps['p99_ms']:.1f} ms; "
             f"Node {ns['exchanges_after_expiry']} exchange(s), p99 {ns['p99_ms']:.1f} ms.\n")
    pm, nm = r["py_storm_mem"]["memory"], r["node"]["memory"]
    L.append(f"Memory (measured once, in round 1; RSS after 1k → after 100k guarded calls, fixed server): Python {pm['rss_after_1k_mb']:.1f} → {pm['rss_after_100k_mb']:.1f} MB (growth {pm['growth_mb']:.1f} MB); "
             f"Node {nm['rss_after_1k_mb']:.1f} → {nm['rss_after_100k_mb']:.1f} MB (growth {nm['growth_mb']:.1f} MB).\n")
    L.append("## Targets\n")
    L.append("| target | round 1 | round 2 | goal | verdict |\n|---|---:|---:|---|---|")
    for label, key, op, goal in TARGETS:
        a, b = rs[0][key], rs[1][key]
        ok = all((x <= goal) if op == "<=" else (x >= goal) for x in (a, b))
        L.append(f"| {label} | {a:.2f}× | {b:.2f}× | {op} {goal}× | {'met' if ok else 'MISSED'} |")
    for label, f, show in (  # measured in round 1 only
        ("Refresh storm: exactly 1 exchange (Python, Node)",
         lambda r: r["py_storm_mem"]["storm"]["exchanges_after_expiry"] == 1 and r["node"]["storm"]["exchanges_after_expiry"] == 1,
         lambda r: f"{r['py_storm_mem']['storm']['exchanges_after_expiry']}, {r['node']['storm']['exchanges_after_expiry']}"),
        ("RSS growth over 100k guarded calls (Python, Node)",
         lambda r: r["py_storm_mem"]["memory"]["growth_mb"] < 10 and r["node"]["memory"]["growth_mb"] < 10,
         lambda r: f"{r['py_storm_mem']['memory']['growth_mb']:.1f}, {r['node']['memory']['growth_mb']:.1f} MB"),
    ):
        goal = "= 1" if "storm" in label else "< 10 MB"
        L.append(f"| {label} | {show(rounds[0])} | (round 1 only) | {goal} | {'met' if f(rounds[0]) else 'MISSED'} |")
    L.append(f"\n### Stability of the ratios (round 2 / round 1; goal within ±{STABLE:.0%})\n")
    L.append("| ratio | round 1 | round 2 | round 2 / round 1 | verdict |\n|---|---:|---:|---:|---|")
    for k in rs[0]:
        q = rs[1][k] / rs[0][k]
        L.append(f"| {k} | {rs[0][k]:.2f} | {rs[1][k]:.2f} | {q:.2f} | {'stable' if abs(q - 1) <= STABLE else 'UNSTABLE'} |")
    L.append("")
    notes = ROOT / "bench" / "NOTES.md"
    if notes.exists():
        L.append("## Notes\n")
        L.append(notes.read_text())
    (ROOT / "BENCHMARKS.md").write_text("\n".join(L) + "\n")
    log("wrote BENCHMARKS.md")


def main() -> None:
    ensure_ref_venv()
    t0 = time.time()
    fixed_p, fx = start([str(BIN / "fixed-server")], ["URL"])
    try:
        rounds = []
        for k in range(2):
            # A fresh dev server per round: its ledger grows with every verify, so a second round on
            # the same server would measure a slower server, not the clients.
            dev_p, dev = start([str(BIN / "paybond-devserver"), "--gateway-port", "0", "--harbor-port", "0"], ["PAYBOND_GATEWAY_URL", "PAYBOND_HARBOR_URL", "PAYBOND_API_KEY"])
            try:
                intent, token = dev_intent(dev["PAYBOND_GATEWAY_URL"], dev["PAYBOND_API_KEY"])
                rounds.append(one_round(fx["URL"], dev, intent, token, extras=k == 0))
            finally:
                dev_p.kill()
        (ROOT / "bench" / "out").mkdir(exist_ok=True)
        (ROOT / "bench" / "out" / "raw.json").write_text(json.dumps(rounds, indent=1))
        write(rounds, time.time() - t0)
    finally:
        fixed_p.kill()


if __name__ == "__main__":
    if sys.argv[1:] == ["--install-ref"]:
        ensure_ref_venv()
    else:
        main()
