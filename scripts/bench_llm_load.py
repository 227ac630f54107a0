"""Open-loop-ish /llm load for scripts/bench-sophia.sh: CONCURRENCY threads, each on one
keep-alive connection, together sending RPS requests per second for SECONDS (each thread
paces itself; a slow answer delays only its own thread). Prints one JSON line:
requests, non_2xx, errors, rps, p50_ms, p95_ms, p99_ms, max_ms.

Usage: python3 scripts/bench_llm_load.py BASE_URL RPS SECONDS CONCURRENCY
"""
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse


def worker(host, port, interval, until, out, index):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    latencies, non_2xx, errors, n = [], 0, 0, 0
    next_at = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= until:
            break
        if next_at > now:
            time.sleep(next_at - now)
        next_at += interval
        body = json.dumps({"prompt": f"question {index}-{n}", "provider": "echo"})
        n += 1
        started = time.perf_counter()
        try:
            conn.request("POST", "/llm", body, {"Content-Type": "application/json"})
            answer = conn.getresponse()
            answer.read()
            if not 200 <= answer.status < 300:
                non_2xx += 1
        except OSError:
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
            continue
        latencies.append(time.perf_counter() - started)
    out[index] = (latencies, non_2xx, errors)


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


def main():
    base, rps, seconds, concurrency = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    url = urlparse(base)
    until = time.monotonic() + seconds
    out = [None] * concurrency
    threads = [threading.Thread(target=worker, args=(url.hostname, url.port, concurrency / rps, until, out, i))
               for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies = sorted(x for lat, _, _ in out for x in lat)
    ms = lambda v: round(v * 1000, 3)
    print(json.dumps({
        "requests": len(latencies), "non_2xx": sum(o[1] for o in out), "errors": sum(o[2] for o in out),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": ms(percentile(latencies, 50)), "p95_ms": ms(percentile(latencies, 95)),
        "p99_ms": ms(percentile(latencies, 99)), "max_ms": ms(latencies[-1] if latencies else 0),
    }))


if __name__ == "__main__":
    main()
