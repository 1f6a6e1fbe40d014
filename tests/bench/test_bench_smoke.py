"""Smoke runs of the benchmarks with tiny counts: they must keep working, whatever numbers they give.

The serving benchmarks use wrk when it is installed (`.ci/run` installs it) and the Python client when not;
the latency one always uses the Python client, so that path is run too.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
pytestmark = pytest.mark.slow


def test_tokenization_benchmark_smoke(tmp_path: Path) -> None:
    output = tmp_path / "tokenization.json"
    result = subprocess.run(
        [sys.executable, str(BENCH / "tokenization.py"), "--documents", "60", "--model-documents", "5",
         "--json", str(output)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "tokenizer_to_model_ratio" in result.stdout
    measured = json.loads(output.read_text())
    assert measured["short_tokens"] == 12 and measured["long_tokens"] > 200
    assert measured["distinct_documents"] == 60 + 10 and measured["cache_hits"] == 0
    assert measured["tokenize_short_docs_per_s"] > measured["model_short_docs_per_s"] > 0


def test_batching_benchmark_smoke(tmp_path: Path) -> None:
    output = tmp_path / "batching.json"
    result = subprocess.run(
        [sys.executable, str(BENCH / "batching.py"), "--documents", "8", "--sizes", "1,4", "--json", str(output)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "docs/s" in result.stdout
    measured = json.loads(output.read_text())
    assert measured["tokens_per_document"] == 12
    assert measured["distinct_documents"] == 8 * 3 * 2 and measured["cache_hits"] == 0
    assert [row["batch_documents"] for row in measured["batches"]] == [1, 4]
    assert all(row["docs_per_s"] > 0 for row in measured["batches"])


# --- the serving benchmarks: a real server, all-MiniLM-L6-v2, one trace and one upload for the module ----


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The traced model's cache and the server's store, kept across this module's runs: traced and uploaded once."""
    root = tmp_path_factory.mktemp("bench-serving")
    return ["--model-cache", str(root / "model"), "--data-dir", str(root / "data")]


def run_serving(script: str, tmp_path: Path, kept: list[str], *options: str) -> dict[str, Any]:
    """Run a serving benchmark; its table and target line printed, its JSON back, with what all of them report."""
    output = tmp_path / f"{script}.json"
    result = subprocess.run([sys.executable, str(BENCH / f"{script}.py"), *kept, "--json", str(output), *options],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "target: " in result.stdout and "cache hits" in result.stdout
    measured = json.loads(output.read_text())
    assert measured["benchmark"] == script and isinstance(measured["met"], bool)
    assert measured["cache_hits"] == 0 and measured["failed"] == 0 and measured["repeated_requests"] == 0
    generator = measured["load_generator"]
    assert generator["name"] == ("wrk" if shutil.which("wrk") and "python" not in options else "python")
    assert 0 <= generator["cpu_percent_of_core"] < 200
    assert measured["machine"]["before"]["cpus"] >= 1
    return measured


def test_throughput_benchmark_smoke(tmp_path: Path, kept: list[str]) -> None:
    measured = run_serving("throughput", tmp_path, kept, "--duration", "1", "--warmup", "0", "--raw-sizes", "1,8",
                           "--raw-seconds", "0.2", "--max-rate", "2000", "--tokens", "12,32")
    lengths = measured["lengths"]
    assert [length["tokens_per_sentence"] for length in lengths] == [12, 32]
    for length in lengths:
        assert len(length["raw"]) == (3 if measured["processors"] > 1 else 1)
        assert all([row["batch"] for row in layout["batches"]] == [1, 8] for layout in length["raw"])
        assert length["best_raw_per_s"] == max(layout["best_docs_per_s"] for layout in length["raw"]) > 0
        assert length["served_per_s"] > 0 and length["ratio"] == length["served_per_s"] / length["best_raw_per_s"]
        assert len(length["served"]["runs"]) == 3
        assert all(run["inferred_documents"] > 0 for run in length["served"]["runs"])
    assert measured["ratio"] == min(length["ratio"] for length in lengths)


def test_latency_benchmark_smoke_with_the_python_client(tmp_path: Path, kept: list[str]) -> None:
    measured = run_serving("latency", tmp_path, kept, "--rounds", "2", "--duration", "1", "--warmup", "0",
                           "--raw-seconds", "0.2", "--load-generator", "python")
    rounds = measured["rounds"]
    assert len(rounds) == 2
    assert all(0 < one["raw_forward_ms_p50"] <= one["raw_forward_ms_p99"] for one in rounds)
    assert all(0 < one["latency_ms_p50"] <= one["latency_ms_p99"] for one in rounds)
    assert all(one["over_raw_ms_p50"] == one["latency_ms_p50"] - one["raw_forward_ms_p50"] for one in rounds)
    assert measured["over_raw_ms_p50"] == statistics.median(one["over_raw_ms_p50"] for one in rounds)


def test_security_benchmark_smoke(tmp_path: Path, kept: list[str]) -> None:
    measured = run_serving("security", tmp_path, kept, "--duration", "1", "--warmup", "0", "--max-rate", "2000")
    assert len(measured["runs_on"]) == len(measured["runs_off"]) == 6  # three rounds of on/off/off/on
    assert all(run["server_cpu_us_per_request"] > 0 for run in measured["runs_on"] + measured["runs_off"])
    assert measured["served_per_s_security_on"] > 0 and measured["served_per_s_security_off"] > 0
    assert measured["loss"] == 1 - measured["served_per_s_security_on"] / measured["served_per_s_security_off"]


def test_scaling_benchmark_smoke(tmp_path: Path, kept: list[str]) -> None:
    measured = run_serving("scaling", tmp_path, kept, "--duration", "1", "--warmup", "0", "--raw-seconds", "0.2",
                           "--max-rate", "2000")
    assert set(measured["served_per_s"]) == {"1", "2"} and all(rate > 0 for rate in measured["served_per_s"].values())
    assert measured["gain"] == measured["served_per_s"]["2"] / measured["served_per_s"]["1"]
    assert measured["raw_gain"] > 0
    assert set(measured["layouts"]) == {"2x1", "1x2"} and measured["layouts"]["2x1"] == measured["served_per_s"]["2"]


def test_memory_benchmark_smoke(tmp_path: Path, kept: list[str]) -> None:
    measured = run_serving("memory", tmp_path, kept, "--allocations", "1,2", "--duration", "1")
    assert measured["tokens_per_sentence"] == 128 and measured["weights_bytes"] > 50 * 2**20
    # each deployment's workers hold the weights at least once
    assert all(pss > measured["weights_bytes"] for pss in measured["pss_peak_bytes"].values())
    assert [(step["from"], step["to"]) for step in measured["steps"]] == [(1, 2)]
    assert all(len(run["worker_pids"]) == 1 for runs in measured["runs"].values() for run in runs)


def test_resize_benchmark_smoke(tmp_path: Path, kept: list[str]) -> None:
    measured = run_serving("resize", tmp_path, kept, "--settle", "0.5", "--hold", "0.5", "--max-rate", "2000")
    assert set(measured["layouts"]) == {"in place", "new worker"}
    for layout in measured["layouts"].values():
        assert layout["grow_to_serving_s"] > 0 and layout["shrink_done_s"] > 0 and layout["served_per_s"] > 0


def test_adaptive_benchmark_smoke(tmp_path: Path, kept: list[str]) -> None:
    """One cycle: it idles to zero once (the 60 s minimum), so this one takes about a minute and a half."""
    measured = run_serving("adaptive", tmp_path, kept, "--runs", "1", "--hold", "0.5", "--max-rate", "2000")
    assert measured["runs_count"] == 1 and measured["new_worker_each_cold_start"]
    total, load = measured["cold_start_total_s"], measured["cold_start_load_s"]
    assert total >= load > 0 and measured["cold_start_rest_s"] == total - load
    assert measured["reached_max_allocations"] and measured["sustained_load_to_serving_s"] > 0
    (run,) = measured["runs"]
    assert run["sustained_load"]["needed_allocations"] >= 2 and run["sustained_load"]["back_to_one_s"] is not None


def test_remote_path_benchmark_smoke(tmp_path: Path, kept: list[str]) -> None:
    """The worker's TCP link against its pipes (and a Ray actor call where Ray is installed); no server."""
    output = tmp_path / "remote_path.json"
    result = subprocess.run(
        [sys.executable, str(BENCH / "remote_path.py"), *kept[:2], "--requests", "20", "--duration", "0.5",
         "--rounds", "1", "--json", str(output)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "target: " in result.stdout
    measured = json.loads(output.read_text())
    assert measured["benchmark"] == "remote_path" and isinstance(measured["met"], bool)
    (measured_round,) = measured["rounds"]
    assert all(measured_round[path]["docs_per_s"] > 0 and measured_round[path]["p50_ms"] > 0
               for path in ("local", "remote"))
    assert measured["added_ms_p50"] == measured_round["remote"]["p50_ms"] - measured_round["local"]["p50_ms"]
    assert measured["throughput_ratio"] == measured_round["remote"]["docs_per_s"] / measured_round["local"]["docs_per_s"]
    ray_installed = importlib.util.find_spec("ray") is not None
    assert (measured["ray_actor_call_ms_p50"] is not None) == ray_installed


def test_enrich_benchmark_smoke(tmp_path: Path, kept: list[str]) -> None:
    output = tmp_path / "enrich.json"
    result = subprocess.run([sys.executable, str(BENCH / "enrich.py"), *kept, "--json", str(output), "--documents", "48",
                             "--warmup-documents", "16", "--batch-size", "8"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "target: " in result.stdout and "cache hits" in result.stdout
    measured = json.loads(output.read_text())
    assert measured["benchmark"] == "enrich" and isinstance(measured["met"], bool)
    assert measured["cache_hits"] == 0 and measured["failed"] == 0
    assert len(measured["runs_infer"]) == len(measured["runs_enrich"]) == 3
    assert all(run["inferred_documents"] == 48 for run in measured["runs_infer"] + measured["runs_enrich"])
    assert measured["ratio"] == measured["enrich_docs_per_s"] / measured["infer_docs_per_s"] > 0


def test_quantized_benchmark_smoke(tmp_path: Path, kept: list[str]) -> None:
    """all-MiniLM-L6-v2 float32 and int8 (traced with quantize=True), each served by its own server."""
    measured = run_serving("quantized", tmp_path, kept, "--duration", "1", "--warmup", "0", "--raw-sizes", "1,8",
                           "--raw-seconds", "0.2", "--max-rate", "2000", "--sentences", "48")
    sides = {"float32", "int8"}
    assert set(measured["served_per_s"]) == set(measured["best_raw_per_s"]) == sides
    assert all(len(measured["runs"][side]) == 3 and len(measured["raw"][side]) == (3 if measured["processors"] > 1
                                                                                   else 1) for side in sides)
    assert all(measured["served_to_raw"][side] == measured["served_per_s"][side] / measured["best_raw_per_s"][side]
               for side in sides)
    assert measured["int8_over_float32"] == measured["served_per_s"]["int8"] / measured["served_per_s"]["float32"] > 0
    assert measured["compared_sentences"] == 48 and measured["embeddings_compared"] == "served"
    assert 0.5 < measured["cosine_min"] <= measured["cosine_mean"] < 1  # int8 changes every embedding, a little
    assert measured["definition_bytes"]["int8"] < 0.8 * measured["definition_bytes"]["float32"]
    assert measured["weights_bytes"]["int8"] < 0.8 * measured["weights_bytes"]["float32"]
