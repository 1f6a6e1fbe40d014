"""Load generation: `wrk` with a generated Lua script, or a small Python client where wrk is missing.

Either runs as a child process for a fixed time over a fixed number of connections, POSTing one
distinct `_infer` body per request (one line each in a bodies file, taken in order, never sent twice
unless the run outlasts the file: `repeated` says how often that happened). Both print one line
`BENCH-JSON {...}` with the requests answered, those that failed (socket errors, timeouts and any status
other than 200), and latency percentiles. The load generator's own CPU time is read with psutil as the
CPU time of this process's reaped children, across the child's life.

The Python client (`python bench/load.py URL BODIES --connections C --duration S`) is for smoke runs
only: its threads share one GIL and it costs far more CPU than wrk, which is itself measured load.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

MARKER = "BENCH-JSON "
TIMEOUT_S = 60
AUTHORIZATION_ENV = "INFERD_BENCH_AUTHORIZATION"
"""The load client reads the `Authorization` header from here (a command line would show the key)."""

_WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%(authorization)slocal prepared = {}
local sent = 0
function init(args)
  for line in io.lines("%(bodies)s") do
    prepared[#prepared + 1] = wrk.format(nil, nil, nil, line)
  end
end
function request()
  sent = sent + 1
  return prepared[((sent - 1) %% #prepared) + 1]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('%(marker)s{"requests": %%d, "duration_s": %%f, "failed": %%d, '
    .. '"latency_ms": {"p50": %%f, "p90": %%f, "p99": %%f, "mean": %%f, "max": %%f}}\\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.mean / 1e3, latency.max / 1e3))
end
"""


@dataclass(frozen=True)
class LoadResult:
    generator: str
    connections: int
    duration_s: float
    requests: int
    failed: int
    requests_per_s: float
    latency_ms: dict[str, float]
    distinct_bodies: int
    repeated: int
    generator_cpu_s: float
    generator_cpu_percent: float  # of one core, over the run

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def choose_generator(requested: str) -> str:
    if requested == "auto":
        return "wrk" if wrk_available() else "python"
    if requested == "wrk" and not wrk_available():
        raise SystemExit("wrk is not installed (apt-get install wrk), and --load-generator wrk was asked for")
    return requested


def infer_body(text: str) -> str:
    return json.dumps({"docs": [{"text_field": text}]})


def _children_cpu_s() -> float:
    times = psutil.Process().cpu_times()
    return float(times.children_user + times.children_system)


class RunningLoad:
    """A load generator started in the background; `wait()` gives its result."""

    def __init__(self, generator: str, url: str, texts: list[str], connections: int, duration_s: float,
                 authorization: str | None = None) -> None:
        self.generator = generator
        self._connections = connections
        self._scratch = tempfile.TemporaryDirectory(prefix="inferd-load-")
        bodies = Path(self._scratch.name) / "bodies.jsonl"
        bodies.write_text("".join(infer_body(text) + "\n" for text in texts))
        self._distinct = len(texts)
        seconds = max(1, round(duration_s))
        if generator == "wrk":
            script = Path(self._scratch.name) / "bodies.lua"
            header = f'wrk.headers["Authorization"] = "{authorization}"\n' if authorization else ""
            script.write_text(_WRK_SCRIPT % {"bodies": bodies, "marker": MARKER, "authorization": header})
            command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", f"--timeout={TIMEOUT_S}s",
                       "-s", str(script), url]
        else:
            command = [sys.executable, str(Path(__file__).resolve()), url, str(bodies),
                       "--connections", str(connections), "--duration", str(seconds)]
        self._cpu_before = _children_cpu_s()
        env = {**os.environ, AUTHORIZATION_ENV: authorization or ""}  # not on the command line, where ps shows it
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def stop(self) -> LoadResult:
        """End the run now (SIGINT: wrk and the Python client both stop and report what they saw)."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
        return self.wait()

    def wait(self) -> LoadResult:
        try:
            stdout, stderr = self._process.communicate()
            cpu_s = _children_cpu_s() - self._cpu_before
        finally:
            self._scratch.cleanup()
        lines = [line for line in stdout.splitlines() if line.startswith(MARKER)]
        if self._process.returncode != 0 or not lines:
            raise RuntimeError(f"{self.generator} failed ({self._process.returncode}): {stdout[-2000:]}{stderr[-2000:]}")
        measured = json.loads(lines[-1][len(MARKER):])
        duration_s = measured["duration_s"]
        return LoadResult(
            generator=self.generator,
            connections=self._connections,
            duration_s=duration_s,
            requests=measured["requests"],
            failed=measured["failed"],
            requests_per_s=(measured["requests"] - measured["failed"]) / duration_s,
            latency_ms=measured["latency_ms"],
            distinct_bodies=self._distinct,
            repeated=max(0, measured["requests"] - self._distinct),
            generator_cpu_s=cpu_s,
            generator_cpu_percent=100 * cpu_s / duration_s,
        )


def run_load(generator: str, url: str, texts: list[str], connections: int, duration_s: float,
             authorization: str | None = None) -> LoadResult:
    return RunningLoad(generator, url, texts, connections, duration_s, authorization).wait()


# --- the Python client, run as a child process ---------------------------------------------------


def _client(url: str, bodies: list[bytes], connections: int, duration_s: float) -> dict[str, Any]:
    parsed = urllib.parse.urlsplit(url)
    headers = {"Content-Type": "application/json"}
    if os.environ.get(AUTHORIZATION_ENV):
        headers["Authorization"] = os.environ[AUTHORIZATION_ENV]
    order = itertools.count()
    deadline = time.monotonic() + duration_s
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    latencies: list[float] = []
    failed = [0]
    lock = threading.Lock()

    def connection() -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=TIMEOUT_S)
        mine: list[float] = []
        errors = 0
        while time.monotonic() < deadline and not stop.is_set():
            body = bodies[next(order) % len(bodies)]
            started = time.perf_counter()
            try:
                conn.request("POST", parsed.path, body, headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=TIMEOUT_S)
                ok = False
            mine.append(time.perf_counter() - started)
            errors += not ok
        conn.close()
        with lock:
            latencies.extend(mine)
            failed[0] += errors

    started = time.perf_counter()
    threads = [threading.Thread(target=connection) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.1)  # short waits: the main thread must run the SIGINT handler
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]

    def percentile(p: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    return {"requests": len(latencies), "duration_s": elapsed, "failed": failed[0],
            "latency_ms": {"p50": percentile(50), "p90": percentile(90), "p99": percentile(99),
                           "mean": 1000 * statistics.fmean(ordered), "max": 1000 * ordered[-1]}}


def main() -> None:
    parser = argparse.ArgumentParser(description="the Python load client (smoke runs, or where wrk is missing)")
    parser.add_argument("url")
    parser.add_argument("bodies", type=Path)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5)
    args = parser.parse_args()
    bodies = [line.encode() for line in args.bodies.read_text().splitlines() if line]
    print(MARKER + json.dumps(_client(args.url, bodies, args.connections, args.duration)), flush=True)


if __name__ == "__main__":
    main()
