"""What every serving benchmark shares: its command-line options, the machine's state, one table, the JSON.

Each benchmark runs three times and quotes the median; it prints one table, then its target and whether
it was met (a miss is reported, never an error exit), and writes everything it measured as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from model import DEFAULT_CACHE

RUNS = 3


def parser_for(doc: str, name: str) -> argparse.ArgumentParser:
    """The options every serving benchmark takes; each adds its own."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--json", type=Path, default=Path(f"bench-{name}.json"), help="where the results go")
    parser.add_argument("--model-cache", type=Path, default=DEFAULT_CACHE, help="the traced model is kept here")
    parser.add_argument("--load-generator", choices=("auto", "wrk", "python"), default="auto",
                        help="auto: wrk when installed, else the Python client (fit for smoke runs only)")
    parser.add_argument("--data-dir", type=Path, help="keep the server's store here, so later runs skip the upload "
                        "[default: a fresh one per run]")
    parser.add_argument("--max-rate", type=int, default=1000,
                        help="requests/s to provision distinct sentences for: each run gets duration x this many")
    parser.add_argument("--no-security", action="store_true",
                        help="run the server with --no-security (to measure what authentication costs)")
    return parser


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def machine_state() -> dict[str, Any]:
    """How busy the machine is besides us: load averages and the CPU others used over half a second."""
    mine = {os.getpid(), *(child.pid for child in psutil.Process().children(recursive=True))}
    others = [process for process in psutil.process_iter() if process.pid not in mine]
    for process in others:
        try:
            process.cpu_percent(None)
        except psutil.Error:
            pass
    time.sleep(0.5)
    busy: list[tuple[float, str]] = []
    for process in others:
        try:
            busy.append((process.cpu_percent(None), process.name()))
        except psutil.Error:
            pass
    busy.sort(reverse=True)
    return {
        "cpus": os.cpu_count(),
        "load_average_1_5_15": [round(value, 2) for value in os.getloadavg()],
        "others_cpu_percent": round(sum(percent for percent, _ in busy), 1),
        "others_busiest": [f"{name} {percent:.0f}%" for percent, name in busy[:3] if percent >= 5],
    }


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(column), *(len(row[index]) for row in cells)) for index, column in enumerate(columns)]
    print("  ".join(column.rjust(width) if index else column.ljust(width)
                    for index, (column, width) in enumerate(zip(columns, widths, strict=True))))
    for row in cells:
        print("  ".join(cell.rjust(width) if index else cell.ljust(width)
                        for index, (cell, width) in enumerate(zip(row, widths, strict=True))))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def finish(args: argparse.Namespace, name: str, results: dict[str, Any], target: str, met: bool,
           started: dict[str, Any]) -> None:
    """Print the target line and the load generator's cost, and write the JSON."""
    results = {"benchmark": name, "target": target, "met": met, **results,
               "machine": {"before": started, "after": machine_state()}}
    print(f"target: {target}: {'met' if met else 'MISSED'}")
    notes = []
    if "cache_hits" in results:
        notes.append(f"{results['cache_hits']} cache hits")
    if "load_generator" in results:
        generator = results["load_generator"]
        notes.append(f"load generator {generator['name']} at {generator['cpu_percent_of_core']:.1f}% of a core")
    if results.get("repeated_requests"):
        notes.append(f"{results['repeated_requests']} requests repeated a sentence (raise --max-rate)")
    before = started["load_average_1_5_15"][0]
    notes.append(f"load average {before} before; others used {started['others_cpu_percent']:.0f}% CPU")
    print("; ".join(notes))
    args.json.write_text(json.dumps(results, indent=2))


def load_generator_summary(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The load generator's name and median CPU use over the runs' load results (`load` in each run)."""
    return {"name": runs[0]["load"]["generator"],
            "cpu_percent_of_core": median([run["load"]["generator_cpu_percent"] for run in runs]),
            "cpu_s_per_1000_requests": median([1000 * run["load"]["generator_cpu_s"] / max(run["load"]["requests"], 1)
                                               for run in runs])}
