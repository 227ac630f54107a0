"""Table and JSON of `scripts/bench-embed.sh` from the files its run left in WORK.

Run: bench_embed_report.py WORK OUT_JSON DURATION "LEVELS" "RUNTIME_ENV"
Targets (issue 14): at concurrency >= 32 the runtime reaches 85 % of the raw ONNX
Runtime batch-32 ceiling and 4x the Python peer; p95 at 32 at most 1/3 of the peer's;
p50 at 1 at most 1/2 of the peer's.
"""

import json
import os
import platform
import subprocess
import sys


def fmt(ratio):
    """A ratio for the table; "-" when the peer answered nothing at that level."""
    return f"{'-' if ratio is None else ratio:>6}"


def main():
    work, out, duration, levels, runtime_env = sys.argv[1:6]
    levels = [int(c) for c in levels.split()]
    servers = {}
    for name in ("runtime", "peer"):
        _, start, ready, rss_ready = open(os.path.join(work, f"{name}.start")).read().split()
        rss_after = int(open(os.path.join(work, f"{name}.rss")).read().strip())
        servers[name] = {
            "start_to_ready_seconds": round(float(ready) - float(start), 3),
            "rss_ready_bytes": int(rss_ready) * 1024,
            "rss_after_load_bytes": rss_after * 1024,
            "levels": {c: json.load(open(os.path.join(work, f"{name}-c{c}.json"))) for c in levels},
        }
    ort = json.load(open(os.path.join(work, "ort.json")))
    ceiling = {b["batch"]: b["sentences_per_s"] for b in ort["batches"]}
    top = ceiling.get(32) or max(ceiling.values())

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    rows, targets = [], []
    for c in levels:
        rt, py = servers["runtime"]["levels"][c], servers["peer"]["levels"][c]
        rows.append({
            "concurrency": c,
            "runtime": rt,
            "python_peer": py,
            "rps_ratio": round(rt["rps"] / py["rps"], 2) if py["rps"] else None,
            "p50_ratio": round(rt["p50_ms"] / py["p50_ms"], 2) if py["p50_ms"] else None,
            "p95_ratio": round(rt["p95_ms"] / py["p95_ms"], 2) if py["p95_ms"] else None,
            "p99_ratio": round(rt["p99_ms"] / py["p99_ms"], 2) if py["p99_ms"] else None,
            "share_of_ort_batch32_ceiling": round(rt["rps"] / top, 3),
        })
    by_c = {r["concurrency"]: r for r in rows}
    for c in (c for c in levels if c >= 32):
        r = by_c[c]
        targets.append({"target": f"c={c} throughput >= 85% of the ORT ceiling", "value": r["share_of_ort_batch32_ceiling"], "met": r["share_of_ort_batch32_ceiling"] >= 0.85})
        targets.append({"target": f"c={c} throughput >= 4x the Python peer", "value": r["rps_ratio"], "met": (r["rps_ratio"] or 0) >= 4})
    if 32 in by_c:
        targets.append({"target": "c=32 p95 <= 1/3 of the Python peer's", "value": by_c[32]["p95_ratio"], "met": (by_c[32]["p95_ratio"] or 9) <= 1 / 3})
    if 1 in by_c:
        targets.append({"target": "c=1 p50 <= 1/2 of the Python peer's", "value": by_c[1]["p50_ratio"], "met": (by_c[1]["p50_ratio"] or 9) <= 0.5})

    result = {
        "benchmark": "/embed_text: hermes-runtime vs the Python peer vs raw ONNX Runtime",
        "utc": os.path.basename(out)[len("embed-"):-len(".json")],
        "git": os.environ.get("BENCH_GIT_REV") or rev or "unknown",
        "machine": {"cores": os.cpu_count(), "cpu": cpu, "kernel": platform.release(), "loadavg_at_end": open("/proc/loadavg").read().split()[:3]},
        "runtime_env": runtime_env,
        "load_generator": "wrk 1 thread, keep-alive, bench/sentences64.txt (64 sentences, 5-30 words)",
        "seconds_per_level": float(duration),
        "python_peer": "FastAPI async /embed_text -> SentenceTransformer.encode, 1 uvicorn worker, torch 2.15.0 (PyPI CUDA build, run on CPU), 2 threads",
        "servers": {k: {kk: vv for kk, vv in v.items() if kk != "levels"} for k, v in servers.items()},
        "ort_ceiling": ort,
        "levels": rows,
        "targets": targets,
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")

    mib = 1024 * 1024
    print(f"\n/embed_text, {duration}s per level, {os.cpu_count()} cores ({cpu}), git {result['git']} {runtime_env}")
    print(f"{'':>4} | {'runtime req/s':>13} {'p50':>7} {'p95':>7} {'p99':>7} | {'python req/s':>12} {'p50':>7} {'p95':>7} {'p99':>7} | {'x rps':>6} {'x p50':>6} {'x p95':>6} {'x p99':>6} | {'of ceiling':>10}")
    for r in rows:
        rt, py = r["runtime"], r["python_peer"]
        print(f"c{r['concurrency']:>3} | {rt['rps']:>13.1f} {rt['p50_ms']:>7.1f} {rt['p95_ms']:>7.1f} {rt['p99_ms']:>7.1f} | "
              f"{py['rps']:>12.1f} {py['p50_ms']:>7.1f} {py['p95_ms']:>7.1f} {py['p99_ms']:>7.1f} | "
              f"{fmt(r['rps_ratio'])} {fmt(r['p50_ratio'])} {fmt(r['p95_ratio'])} {fmt(r['p99_ratio'])} | {r['share_of_ort_batch32_ceiling']:>10.0%}")
        for name, level in (("runtime", rt), ("python", py)):
            if level["non_2xx"] or level["socket_errors"]:
                print(f"     {name}: {level['non_2xx']} non-2xx, {level['socket_errors']} socket errors")
    for name, s in servers.items():
        print(f"{name}: ready in {s['start_to_ready_seconds']:.2f} s, RSS {s['rss_ready_bytes'] / mib:.0f} MiB ready, {s['rss_after_load_bytes'] / mib:.0f} MiB after load")
    print("raw ONNX Runtime (%d threads), sentences/s spinning / not spinning: %s; min cosine batched vs alone %s" % (
        ort["threads"], ", ".join(f"batch {b['batch']} {b['spinning']} / {b['no_spinning']}" for b in ort["batches"]),
        ort["min_cosine_batched_vs_alone"]))
    for t in targets:
        print(f"{'met    ' if t['met'] else 'NOT met'} {t['target']}: {t['value']}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
