"""`make bench`: runs every benchmark twice in one go and writes BENCHMARKS.md.

Needs the dev build (`make python-dev node-build` and `cargo build -p paybond-bench -p paybond-devserver`),
which `make bench` does first. The reference kit (paybond-kit==0.2.0 from PyPI, built from source)
goes into its own venv, bench/.ref-venv.
"""

from __future__ import annotations

import json
import os
import platform
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


def one_round(fixed: str, dev: dict[str, str], intent: str, token: str) -> dict[str, Any]:
    res: dict[str, Any] = {}
    targets = {
        "fixed": (fixed, fixed, "paybond_sk_sandbox_bench", "11111111-1111-4111-8111-111111111111", "bench-token"),
        "devserver": (dev["PAYBOND_GATEWAY_URL"], dev["PAYBOND_HARBOR_URL"], dev["PAYBOND_API_KEY"], intent, token),
    }
    for name, (gw, hb, key, iid, tok) in targets.items():
        log(f"python verify against the {name} server: ours, reference, Rust floor")
        extra = ["--toolnode", "1000"] if name == "fixed" else []
        res[f"{name}.ours"] = run_json([str(OURS_PY), str(ROOT / "bench/py_bench.py"), "ours", gw, hb, key, iid, tok, *extra])
        res[f"{name}.ref"] = run_json([str(REF_PY), str(ROOT / "bench/py_bench.py"), "ref", gw, hb, key, iid, tok, *extra])
        res[f"{name}.rust"] = run_json([str(BIN / "rust-floor"), gw, hb, key, iid, tok, "2000", "6400"])
    log("evidence signing: ours vs reference")
    res["sign.ours"] = run_json([str(OURS_PY), str(ROOT / "bench/py_bench.py"), "ours", fixed, fixed, "paybond_sk_sandbox_bench", "11111111-1111-4111-8111-111111111111", "bench-token", "--seq", "10", "--conc", "64", "--sign", "20000"])["sign_per_s"]
    res["sign.ref"] = run_json([str(REF_PY), str(ROOT / "bench/py_bench.py"), "ref", fixed, fixed, "paybond_sk_sandbox_bench", "11111111-1111-4111-8111-111111111111", "bench-token", "--seq", "10", "--conc", "64", "--sign", "20000"])["sign_per_s"]
    log("node: ours vs fetch, signing, storm, memory")
    res["node"] = run_json(["node", "--expose-gc", str(ROOT / "bench/node_bench.mjs"), fixed, dev["PAYBOND_GATEWAY_URL"], dev["PAYBOND_HARBOR_URL"], dev["PAYBOND_API_KEY"], intent, token])
    log("python storm and memory")
    res["py_storm_mem"] = run_json([str(OURS_PY), str(ROOT / "bench/py_storm_mem.py"), fixed, fixed])
    return res


def ratios(r: dict[str, Any]) -> dict[str, float]:
    fo, fr, fx = r["fixed.ours"]["verify"], r["fixed.ref"]["verify"], r["fixed.rust"]
    do, dr, dx = r["devserver.ours"]["verify"], r["devserver.ref"]["verify"], r["devserver.rust"]
    n = r["node"]
    return {
        "py_seq_vs_ref_fixed": fo["p50_us"] / fr["p50_us"],
        "py_seq_vs_ref_dev": do["p50_us"] / dr["p50_us"],
        "py_seq_vs_rust_fixed": fo["p50_us"] / fx["p50_us"],
        "py_seq_vs_rust_dev": do["p50_us"] / dx["p50_us"],
        "py_rps_vs_ref_fixed": fo["rps_64"] / fr["rps_64"],
        "py_rps_vs_ref_dev": do["rps_64"] / dr["rps_64"],
        "toolnode_vs_ref": r["fixed.ours"]["toolnode"]["p50_us"] / r["fixed.ref"]["toolnode"]["p50_us"],
        "node_seq_vs_fetch_fixed": n["fixed"]["ours"]["p50_us"] / n["fixed"]["fetch"]["p50_us"],
        "node_seq_vs_fetch_dev": n["devserver"]["ours"]["p50_us"] / n["devserver"]["fetch"]["p50_us"],
        "node_rps_vs_fetch_fixed": n["fixed"]["ours"]["rps_64"] / n["fixed"]["fetch"]["rps_64"],
        "node_rps_vs_fetch_dev": n["devserver"]["ours"]["rps_64"] / n["devserver"]["fetch"]["rps_64"],
        "sign_vs_ref": r["sign.ours"] / r["sign.ref"],
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


def write(rounds: list[dict[str, Any]], seconds: float) -> None:
    rs = [ratios(r) for r in rounds]
    r1 = rounds[0]
    L: list[str] = []
    L.append("# Benchmarks\n")
    L.append(f"Generated by `make bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} in {seconds / 60:.1f} min. "
             "Every figure below was measured in this one run, on this machine, side by side; the suite ran twice "
             "(round 1, round 2) to show the ratios are stable.\n")
    L.append("## Machine\n")
    mem = sh("free -g | awk '/Mem:/{print $2}'")
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    L.append(f"- {sh('nproc')} cores, {mem} GiB, CPU: {cpu}")
    L.append(f"- Linux {platform.release()}, Python {platform.python_version()}, Node {sh('node --version')}, {sh('rustc --version')}")
    L.append("- Builds: the same dev build the tests use (dependencies and the kit's crates at opt-level 2).")
    L.append("- Reference kit: `paybond-kit==0.2.0` from PyPI (httpx client), built from source into `bench/.ref-venv`.\n")
    L.append("## Command\n\n```sh\nmake bench\n```\n")
    L.append("Servers: **fixed** = a minimal Rust loopback server answering harbor-access and `/verify` with constant JSON "
             "(client overhead only); **dev server** = `paybond-devserver` (real JWT and Biscuit checks). "
             "Sequential = 2000 calls after 200 warm-up, p50/p99 in µs. Throughput = 6400 calls by 64 concurrent tasks.\n")
    for k, r in enumerate(rounds, 1):
        L.append(f"## Round {k}\n")
        L.append("| verify | server | p50 µs | p99 µs | req/s (64 tasks) |\n|---|---|---:|---:|---:|")
        for srv in ("fixed", "devserver"):
            for who, key in (("Python ours", f"{srv}.ours"), ("Python reference 0.2.0", f"{srv}.ref")):
                v = r[key]["verify"]
                L.append(f"| {who} | {srv} | {v['p50_us']:.0f} | {v['p99_us']:.0f} | {v['rps_64']:.0f} |")
            x = r[f"{srv}.rust"]
            L.append(f"| Rust core (floor) | {srv} | {x['p50_us']:.0f} | {x['p99_us']:.0f} | {x['rps']:.0f} |")
            for who in ("ours", "fetch"):
                v = r["node"][srv][who]
                L.append(f"| Node {'ours' if who == 'ours' else 'plain fetch'} | {srv} | {v['p50_us']:.0f} | {v['p99_us']:.0f} | {v['rps_64']:.0f} |")
        t_o, t_r = r["fixed.ours"]["toolnode"], r["fixed.ref"]["toolnode"]
        L.append(f"\nLangGraph `ToolNode` (fixed server, 1000 sequential scripted tool calls): ours p50 {t_o['p50_us']:.0f} µs / p99 {t_o['p99_us']:.0f} µs "
                 f"(`paybond_awrap_tool_call`); reference p50 {t_r['p50_us']:.0f} µs / p99 {t_r['p99_us']:.0f} µs (`paybond_awrap_tool_call_capability`).\n")
        L.append(f"Evidence signing (calls/s): Python ours {r['sign.ours']:.0f}, Python reference {r['sign.ref']:.0f}, Node ours {r['node']['sign_per_s']:.0f}.\n")
        ps, ns = r["py_storm_mem"]["storm"], r["node"]["storm"]
        L.append(f"Refresh storm (1000 concurrent guarded calls just past a 3 s JWT's expiry, dev server): Python {ps['exchanges_after_expiry']} exchange(s), p99 {ps['p99_ms']:.1f} ms; "
                 f"Node {ns['exchanges_after_expiry']} exchange(s), p99 {ns['p99_ms']:.1f} ms.\n")
        pm, nm = r["py_storm_mem"]["memory"], r["node"]["memory"]
        L.append(f"Memory (RSS after 1k → after 100k guarded calls, fixed server): Python {pm['rss_after_1k_mb']:.1f} → {pm['rss_after_100k_mb']:.1f} MB (growth {pm['growth_mb']:.1f} MB); "
                 f"Node {nm['rss_after_1k_mb']:.1f} → {nm['rss_after_100k_mb']:.1f} MB (growth {nm['growth_mb']:.1f} MB).\n")
    L.append("## Targets\n")
    L.append("| target | round 1 | round 2 | goal | verdict |\n|---|---:|---:|---|---|")
    for label, key, op, goal in TARGETS:
        a, b = rs[0][key], rs[1][key]
        ok = all((x <= goal) if op == "<=" else (x >= goal) for x in (a, b))
        L.append(f"| {label} | {a:.2f}× | {b:.2f}× | {op} {goal}× | {'met' if ok else 'MISSED'} |")
    for label, f in (
        ("Storm: exactly 1 exchange (Python, Node)", lambda r: r["py_storm_mem"]["storm"]["exchanges_after_expiry"] == 1 and r["node"]["storm"]["exchanges_after_expiry"] == 1),
        ("RSS growth < 10 MB over 100k calls (Python, Node)", lambda r: r["py_storm_mem"]["memory"]["growth_mb"] < 10 and r["node"]["memory"]["growth_mb"] < 10),
    ):
        L.append(f"| {label} | {'yes' if f(rounds[0]) else 'no'} | {'yes' if f(rounds[1]) else 'no'} | — | {'met' if f(rounds[0]) and f(rounds[1]) else 'MISSED'} |")
    L.append("\nStability (round 2 / round 1 of each ratio): " + ", ".join(f"{k} {rs[1][k] / rs[0][k]:.2f}" for k in rs[0]) + ".\n")
    L.append("## Notes\n\n(See the end of this file for what a missed target means and why, when one is missed.)\n")
    notes = ROOT / "bench" / "NOTES.md"
    if notes.exists():
        L.append(notes.read_text())
    (ROOT / "BENCHMARKS.md").write_text("\n".join(L) + "\n")
    log("wrote BENCHMARKS.md")


def main() -> None:
    t0 = time.time()
    ensure_ref_venv()
    fixed_p, fx = start([str(BIN / "fixed-server")], ["URL"])
    dev_p, dev = start([str(BIN / "paybond-devserver"), "--gateway-port", "0", "--harbor-port", "0"], ["PAYBOND_GATEWAY_URL", "PAYBOND_HARBOR_URL", "PAYBOND_API_KEY"])
    try:
        intent, token = dev_intent(dev["PAYBOND_GATEWAY_URL"], dev["PAYBOND_API_KEY"])
        rounds = [one_round(fx["URL"], dev, intent, token) for _ in range(2)]
        (ROOT / "bench" / "out").mkdir(exist_ok=True)
        (ROOT / "bench" / "out" / "raw.json").write_text(json.dumps(rounds, indent=1))
        write(rounds, time.time() - t0)
    finally:
        fixed_p.kill()
        dev_p.kill()


if __name__ == "__main__":
    main()
