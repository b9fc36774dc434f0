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


# Each client runs REPS times per round, interleaved in a rotating order, and the round reports the
# median of those runs: slow drift of a shared 2-core box then hits every client alike.
REPS = 5
SEQ, CONC = 500, 1600  # per run: sequential calls (after 100 warm-up) and calls by 64 tasks
REF_SEQ, REF_CONC = 300, 640  # the reference is ~5-20x slower; fewer calls keep the run short
SIGN = 4000  # evidence signatures per Python run
TOOLNODE = 300  # sequential LangGraph ToolNode calls per kit and round


def median_of(runs: list[dict[str, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out["runs"] = runs
    return out


def flat(r: dict[str, Any]) -> dict[str, float]:
    return {**r["verify"], "sign_per_s": r["sign_per_s"]}


def verify_runs(gw: str, hb: str, key: str, iid: str, tok: str) -> dict[str, Any]:
    py = str(ROOT / "bench/py_bench.py")
    clients = {
        "ours": lambda: flat(run_json([str(OURS_PY), py, "ours", gw, hb, key, iid, tok, "--seq", str(SEQ), "--conc", str(CONC), "--sign", str(SIGN)])),
        "ref": lambda: flat(run_json([str(REF_PY), py, "ref", gw, hb, key, iid, tok, "--seq", str(REF_SEQ), "--conc", str(REF_CONC), "--sign", str(SIGN)])),
        "rust": lambda: {("rps_64" if k == "rps" else k): v for k, v in run_json([str(BIN / "rust-floor"), gw, hb, key, iid, tok, str(SEQ), str(CONC)]).items()},
    }
    names = list(clients)
    runs: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for k in range(REPS):
        for n in names[k % 3:] + names[: k % 3]:
            runs[n].append(clients[n]())
    return {n: median_of(runs[n]) for n in names}


def one_round(fixed: str, dev: dict[str, str], intent: str, token: str, extras: bool) -> dict[str, Any]:
    """One round of every comparison; `extras` adds the refresh storm and the memory run (round 1 only)."""
    res: dict[str, Any] = {}
    targets = {
        "fixed": (fixed, fixed, "paybond_sk_sandbox_bench", "11111111-1111-4111-8111-111111111111", "bench-token"),
        "devserver": (dev["PAYBOND_GATEWAY_URL"], dev["PAYBOND_HARBOR_URL"], dev["PAYBOND_API_KEY"], intent, token),
    }
    py = str(ROOT / "bench/py_bench.py")
    for name, (gw, hb, key, iid, tok) in targets.items():
        log(f"python verify against the {name} server: ours, reference, Rust floor ({REPS} interleaved runs each)")
        res[name] = verify_runs(gw, hb, key, iid, tok)
    fixed_args = [fixed, fixed, "paybond_sk_sandbox_bench", "11111111-1111-4111-8111-111111111111", "bench-token", "--seq", "10", "--conc", "64"]
    log("LangGraph ToolNode: ours vs reference")
    for kit, exe in (("ours", OURS_PY), ("ref", REF_PY)):
        res[f"toolnode.{kit}"] = run_json([str(exe), py, kit, *fixed_args, "--toolnode", str(TOOLNODE)])["toolnode"]
    log("node: ours vs fetch (interleaved), signing" + (", storm, memory" if extras else ""))
    res["node"] = run_json(["node", "--expose-gc", str(ROOT / "bench/node_bench.mjs"), fixed, dev["PAYBOND_GATEWAY_URL"], dev["PAYBOND_HARBOR_URL"], dev["PAYBOND_API_KEY"], intent, token, str(REPS), str(SEQ), str(CONC), "1" if extras else "0"])
    if extras:
        log("python storm and memory")
        res["py_storm_mem"] = run_json([str(OURS_PY), py.replace("py_bench", "py_storm_mem"), fixed, fixed])
    return res


def paired(x: dict[str, Any], y: dict[str, Any], key: str) -> float:
    """Median over the runs of x/y, each run of x set against the run of y made next to it in time."""
    return statistics.median(a[key] / b[key] for a, b in zip(x["runs"], y["runs"], strict=True))


def ratios(r: dict[str, Any]) -> dict[str, float]:
    f, d, n = r["fixed"], r["devserver"], r["node"]
    return {
        "py_seq_vs_ref_fixed": paired(f["ours"], f["ref"], "p50_us"),
        "py_seq_vs_ref_dev": paired(d["ours"], d["ref"], "p50_us"),
        "py_seq_vs_rust_fixed": paired(f["ours"], f["rust"], "p50_us"),
        "py_seq_vs_rust_dev": paired(d["ours"], d["rust"], "p50_us"),
        "py_rps_vs_ref_fixed": paired(f["ours"], f["ref"], "rps_64"),
        "py_rps_vs_ref_dev": paired(d["ours"], d["ref"], "rps_64"),
        "toolnode_vs_ref": r["toolnode.ours"]["p50_us"] / r["toolnode.ref"]["p50_us"],
        "node_seq_vs_fetch_fixed": paired(n["fixed"]["ours"], n["fixed"]["fetch"], "p50_us"),
        "node_seq_vs_fetch_dev": paired(n["devserver"]["ours"], n["devserver"]["fetch"], "p50_us"),
        "node_rps_vs_fetch_fixed": paired(n["fixed"]["ours"], n["fixed"]["fetch"], "rps_64"),
        "node_rps_vs_fetch_dev": paired(n["devserver"]["ours"], n["devserver"]["fetch"], "rps_64"),
        "sign_vs_ref": paired(f["ours"], f["ref"], "sign_per_s"),
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
    L.append(f"Method: in each round every verify client runs {REPS} times, interleaved in a rotating order (Python ours, "
             f"reference, Rust floor in separate processes; Node ours and `fetch` alternating in one process). A run is "
             f"{SEQ} sequential calls after 100 warm-up (reference: {REF_SEQ}) for p50/p99, then {CONC} calls by 64 concurrent "
             f"tasks (reference: {REF_CONC}) for req/s. Each figure is the median of the {REPS} runs; each ratio is the median "
             f"of the {REPS} per-run ratios (a run set against the other client's run next to it in time). One throw-away "
             f"pass of every client runs first so the box has settled.\n")
    for k, r in enumerate(rounds, 1):
        L.append(f"## Round {k}\n")
        L.append("| verify | server | p50 µs | p99 µs | req/s (64 tasks) |\n|---|---|---:|---:|---:|")
        for srv in ("fixed", "devserver"):
            for who, v in (
                ("Python ours", r[srv]["ours"]), ("Python reference 0.2.0", r[srv]["ref"]), ("Rust core (floor)", r[srv]["rust"]),
                ("Node ours", r["node"][srv]["ours"]), ("Node plain fetch", r["node"][srv]["fetch"]),
            ):
                L.append(f"| {who} | {srv} | {v['p50_us']:.0f} | {v['p99_us']:.0f} | {v['rps_64']:.0f} |")
        t_o, t_r = r["toolnode.ours"], r["toolnode.ref"]
        L.append(f"\nLangGraph `ToolNode` (fixed server, {TOOLNODE} sequential scripted tool calls): ours p50 {t_o['p50_us']:.0f} µs / p99 {t_o['p99_us']:.0f} µs "
                 f"(`paybond_awrap_tool_call`); reference p50 {t_r['p50_us']:.0f} µs / p99 {t_r['p99_us']:.0f} µs (`paybond_awrap_tool_call_capability`).\n")
        L.append(f"Evidence signing (calls/s, median of the {REPS} fixed-server runs): Python ours {r['fixed']['ours']['sign_per_s']:.0f}, "
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
    dev_p, dev = start([str(BIN / "paybond-devserver"), "--gateway-port", "0", "--harbor-port", "0"], ["PAYBOND_GATEWAY_URL", "PAYBOND_HARBOR_URL", "PAYBOND_API_KEY"])
    try:
        intent, token = dev_intent(dev["PAYBOND_GATEWAY_URL"], dev["PAYBOND_API_KEY"])
        log("settling: one throw-away pass of every client")
        for gw, hb, key, iid, tok in ((fx["URL"], fx["URL"], "paybond_sk_sandbox_bench", "11111111-1111-4111-8111-111111111111", "bench-token"),):
            run_json([str(OURS_PY), str(ROOT / "bench/py_bench.py"), "ours", gw, hb, key, iid, tok, "--seq", "300", "--conc", "640"])
            run_json([str(REF_PY), str(ROOT / "bench/py_bench.py"), "ref", gw, hb, key, iid, tok, "--seq", "100", "--conc", "320"])
            run_json([str(BIN / "rust-floor"), gw, hb, key, iid, tok, "300", "640"])
        rounds = [one_round(fx["URL"], dev, intent, token, extras=k == 0) for k in range(2)]
        (ROOT / "bench" / "out").mkdir(exist_ok=True)
        (ROOT / "bench" / "out" / "raw.json").write_text(json.dumps(rounds, indent=1))
        write(rounds, time.time() - t0)
    finally:
        fixed_p.kill()
        dev_p.kill()


if __name__ == "__main__":
    if sys.argv[1:] == ["--install-ref"]:
        ensure_ref_venv()
    else:
        main()
