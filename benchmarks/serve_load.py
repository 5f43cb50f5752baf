"""Load test of ``platform serve`` on loopback: throughput, latency, dynamic-batching gain.

Serves a trained run (or targets one already served with --url), sends --requests
requests of one input each at concurrency 16 and again at concurrency 1, and checks
every answer against the Python API's ``model.predict`` of the same input alone.

    platform run intent --out /tmp/serve-intent --set trainer.threads=1   # ~20 s on 2 idle cores
    OMP_NUM_THREADS=1 python3 benchmarks/serve_load.py --run /tmp/serve-intent

Inputs are the run's test inputs (from its predictions.jsonl) or --inputs FILE (one text
or JSON object a line). Exits 1 if any request failed or any answer differed.
Only loopback addresses are accepted for --url.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = ("127.", "localhost", "[::1]", "::1")


def read_inputs(run_dir: Path, path: str | None, limit: int) -> list[Any]:
    if path:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        items: list[Any] = [json.loads(x) if x.lstrip().startswith("{") else x for x in lines if x.strip()]
    else:
        items = []
        for line in (run_dir / "predictions.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            field = next((f for f in ("text", "source", "document") if isinstance(row.get(f), str)), None)
            items.append(row[field] if field else {k: v for k, v in row.items() if k != "reference"})
    unique = list(dict.fromkeys(json.dumps(x, sort_keys=True) for x in items))[:limit]
    return [json.loads(x) for x in unique]


def start_server(run_dir: Path, args: argparse.Namespace) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "tasklight", "serve", "--run", str(run_dir), "--port", "0",
               "--max-batch-size", str(args.max_batch_size), "--max-wait-ms", str(args.max_wait_ms)]
    if args.server_threads:
        command += ["--threads", str(args.server_threads)]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    for _ in range(100):
        line = proc.stderr.readline()
        match = re.search(r" on (http://\S+) ", line)
        if match:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep draining
            return proc, match.group(1)
        if not line:
            break
    proc.kill()
    raise SystemExit(f"the server did not start: {line.strip()}")


def get(url: str, path: str) -> Any:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("GET", path)
    body = json.loads(conn.getresponse().read())
    conn.close()
    return body


def load(url: str, inputs: list[Any], expected: list[Any], requests: int, concurrency: int) -> dict[str, Any]:
    """``requests`` POSTs of one input each from ``concurrency`` threads (keep-alive)."""
    parts = urlsplit(url)
    lock = threading.Lock()
    next_index = iter(range(requests))
    latencies: list[float] = []
    errors: list[str] = []
    wrong: list[int] = []

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                break
            k = i % len(inputs)
            body = json.dumps({"inputs": [inputs[k]]})
            start = time.perf_counter()
            try:
                conn.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
                elapsed = time.perf_counter() - start
            except (OSError, http.client.HTTPException) as err:
                with lock:
                    errors.append(f"{type(err).__name__}: {err}")
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                continue
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    errors.append(f"HTTP {response.status}: {payload[:200]!r}")
                elif json.loads(payload) != {"predictions": [expected[k]]}:
                    wrong.append(k)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[max(0, math.ceil(q * len(latencies)) - 1)] * 1000 if latencies else float("nan")

    return {
        "concurrency": concurrency, "requests": requests, "errors": len(errors), "wrong_answers": len(wrong),
        "first_errors": errors[:3], "wall_s": round(wall, 2), "req_per_s": round(requests / wall, 1),
        "p50_ms": round(pct(0.50), 1), "p99_ms": round(pct(0.99), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, type=Path, help="A trained run directory.")
    parser.add_argument("--url", help="Target a server already serving --run (loopback only); default: start one.")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--baseline-concurrency", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--inputs", help="File of inputs, one text or JSON object a line (default: the run's test inputs).")
    parser.add_argument("--unique", type=int, default=500, help="Most distinct inputs (they repeat round-robin).")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--max-wait-ms", type=float, default=2.0)
    parser.add_argument("--server-threads", type=int, help="--threads of the started server.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = parser.parse_args()

    import tasklight
    import torch

    torch.set_num_threads(1)
    model = tasklight.load(args.run)
    inputs = read_inputs(args.run, args.inputs, args.unique)
    start = time.perf_counter()
    expected = [model.predict(x) for x in inputs]  # each alone: the answer batching must not change
    direct = len(inputs) / (time.perf_counter() - start)

    proc = None
    if args.url:
        if not urlsplit(args.url).netloc.startswith(LOOPBACK):
            raise SystemExit(f"--url {args.url}: only loopback addresses are load-tested")
        url = args.url.rstrip("/")
    else:
        proc, url = start_server(args.run, args)
    try:
        info = get(url, "/info")
        if info["task"]["name"] != model.task or info["model"]["parameters"] != model.info()["model"]["parameters"]:
            raise SystemExit(f"{url} serves another model than {args.run}")
        load(url, inputs, expected, args.warmup, args.concurrency)
        results = []
        for concurrency in (args.concurrency, args.baseline_concurrency):
            before = get(url, "/health")["batching"]
            result = load(url, inputs, expected, args.requests, concurrency)
            after = get(url, "/health")["batching"]
            calls = after["model_calls"] - before["model_calls"]
            result["mean_batch_size"] = round((after["inputs"] - before["inputs"]) / calls, 2) if calls else None
            results.append(result)
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    gain = results[0]["req_per_s"] / results[1]["req_per_s"]
    print(f"run {args.run} (task {model.task}, {info['model']['parameters']:,} parameters), {len(inputs)} distinct inputs, "
          f"server {url}, max batch {args.max_batch_size} inputs, max wait {args.max_wait_ms} ms")
    print(f"direct model.predict, one input at a time in this process: {direct:.1f} inputs/s")
    print()
    print("| concurrency | requests | errors | wrong answers | req/s | p50 ms | p99 ms | mean batch |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['concurrency']} | {r['requests']} | {r['errors']} | {r['wrong_answers']} | {r['req_per_s']} | "
              f"{r['p50_ms']} | {r['p99_ms']} | {r['mean_batch_size']} |")
    print()
    print(f"dynamic-batching gain: {gain:.2f}x the req/s of concurrency {args.baseline_concurrency}")
    for r in results:
        for e in r["first_errors"]:
            print(f"error at concurrency {r['concurrency']}: {e}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "gain": round(gain, 2), "direct_inputs_per_s": round(direct, 1)}, indent=2))
    failed = any(r["errors"] or r["wrong_answers"] for r in results)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
