"""Quantized against float32: all-MiniLM-L6-v2 with int8 linear layers (`inferd import --quantize`) beside its float32
original, served throughput, accuracy and size.

Both are traced by `inferd.importer` (the int8 one with `quantize=True`, eland's dynamic quantization of the linear
layers) and served by two servers started side by side, one model each (P allocations x 1 thread, 32 connections,
~12-token distinct sentences, one per `_infer` request). Three rounds each measure both (alternating which goes
first); each side's figure is the median of its three runs, given also as a ratio to its own best raw TorchScript
rate (`raw.py`'s layouts, measured in the same run, float32 and int8 alternating which goes first) and as int8 over
float32. Accuracy: the cosine between the int8 and float32 embeddings of `--sentences` distinct sentences, both as
served (16 documents per `_infer` request), mean and minimum. Size: the definition files and the weights their
import measured (`per_deployment_memory_bytes`). Target: int8 serves more sentences/s than float32, and its
embeddings keep a mean cosine of at least 0.9 to float32's (eland's per-tensor quantization costs all-MiniLM-L6-v2
about 0.07 of cosine: the figure to watch is that it does not get worse).

    .venv/bin/python bench/quantized.py [--processors 2] [--duration 10] [--sentences 1000]
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import raw  # noqa: E402
from load import choose_generator, run_load  # noqa: E402
from model import sentences_of_length, tokenizer_of, traced_model  # noqa: E402
from report import RUNS, finish, load_generator_summary, machine_state, median, parser_for, print_table  # noqa: E402
from server import Server  # noqa: E402
from serving import SentenceSupply, measured_run  # noqa: E402

SIDES = ("float32", "int8")
TARGET_COSINE = 0.9
RAW_SENTENCES = 1024
DOCUMENTS_PER_REQUEST = 16


def in_turn(index: int) -> tuple[str, ...]:
    """Which side goes first in round (or layout) `index`: float32 in even ones, int8 in odd ones."""
    return SIDES if index % 2 == 0 else SIDES[::-1]


def embeddings(server: Server, texts: list[str]) -> np.ndarray:
    rows = [result["predicted_value"] for start in range(0, len(texts), DOCUMENTS_PER_REQUEST)
            for result in server.infer_documents(texts[start:start + DOCUMENTS_PER_REQUEST])]
    return np.array(rows, dtype=np.float64)


def cosines(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.sum(first * second, axis=1) / (np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1))


def main() -> None:
    parser = parser_for(__doc__, "quantized")
    parser.add_argument("--processors", type=int, default=os.cpu_count(), help="processors offered and measured")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load on each server before the rounds")
    parser.add_argument("--tokens", type=int, default=12, help="tokens per sentence")
    parser.add_argument("--sentences", type=int, default=1000, help="distinct sentences whose embeddings are compared")
    parser.add_argument("--raw-sizes", default="1,2,4,8,16,32,64", help="raw batch sizes")
    parser.add_argument("--raw-seconds", type=float, default=1.5, help="seconds per raw measurement")
    parser.set_defaults(max_rate=3000)  # int8 serves past 1,000 sentences/s, which would repeat sentences
    args = parser.parse_args()
    generator = choose_generator(args.load_generator)
    started = machine_state()

    traced = {side: traced_model(args.model_cache, quantize=side == "int8") for side in SIDES}
    warmup_count, run_count = int(args.warmup * args.max_rate) + 1, int(args.duration * args.max_rate) + 1
    total = RAW_SENTENCES + args.sentences + len(SIDES) * (warmup_count + RUNS * run_count)
    sentences = sentences_of_length(traced["float32"], total, args.tokens, seed=17)
    ids = raw.token_ids(tokenizer_of(traced["float32"]), sentences[:RAW_SENTENCES])
    compared = sentences[RAW_SENTENCES:RAW_SENTENCES + args.sentences]
    supply = SentenceSupply(sentences[RAW_SENTENCES + args.sentences:])

    sizes = [int(size) for size in args.raw_sizes.split(",")]
    layouts: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for index, layout in enumerate(raw.hardware_layouts(args.processors)):
        for side in in_turn(index):
            layouts[side].append(raw.measure(traced[side].definition_path, ids, layout, sizes, args.raw_seconds, RUNS))
    best = {side: max(layouts[side], key=lambda layout: layout["best_docs_per_s"]) for side in SIDES}

    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    with tempfile.TemporaryDirectory(prefix="inferd-bench-quantized-") as scratch, ExitStack() as stack:
        stores = args.data_dir or Path(scratch)
        servers: dict[str, Server] = {}
        for side in SIDES:
            server = stack.enter_context(Server(processors=args.processors, data_dir=stores / f"quantized-{side}",
                                                security=not args.no_security))
            server.upload(traced[side])
            server.start_deployment(args.processors, 1)
            stack.callback(server.stop_deployment)
            servers[side] = server
        served_embeddings = {side: embeddings(servers[side], compared) for side in SIDES}
        for side in SIDES:  # both warm before either is measured
            run_load(generator, servers[side].infer_url, supply.take(warmup_count), args.connections, args.warmup,
                     servers[side].authorization)
        for round_number in range(RUNS):
            for side in in_turn(round_number):
                runs[side].append(measured_run(servers[side], generator, supply.take(run_count), args.connections,
                                               args.duration))

    served = {side: median([run["served_per_s"] for run in runs[side]]) for side in SIDES}
    to_raw = {side: served[side] / best[side]["best_docs_per_s"] for side in SIDES}
    speedup = served["int8"] / served["float32"]
    raw_speedup = best["int8"]["best_docs_per_s"] / best["float32"]["best_docs_per_s"]
    similarity = cosines(served_embeddings["float32"], served_embeddings["int8"])
    cosine_mean, cosine_min = float(similarity.mean()), float(similarity.min())
    definition_bytes = {side: traced[side].size_bytes for side in SIDES}
    weights_bytes = {side: traced[side].config["metadata"]["per_deployment_memory_bytes"] for side in SIDES}

    print_table(["", "sentences/s served", "runs", "best raw", "served / raw", "definition MiB", "weights MiB"], [
        [side, served[side], ", ".join(f"{run['served_per_s']:.0f}" for run in runs[side]),
         f"{best[side]['best_docs_per_s']:.1f} ({best[side]['layout']}, batch {best[side]['best_batch']})",
         to_raw[side], definition_bytes[side] / 2**20, weights_bytes[side] / 2**20] for side in SIDES] + [
        ["int8 / float32", speedup, "", f"{raw_speedup:.2f}", "", definition_bytes["int8"] / definition_bytes["float32"],
         weights_bytes["int8"] / weights_bytes["float32"]],
    ])
    print(f"cosine int8 vs float32 over {len(compared)} distinct sentences (served embeddings): "
          f"mean {cosine_mean:.4f}, min {cosine_min:.4f}")
    everything = runs["float32"] + runs["int8"]
    results = {
        "processors": args.processors, "connections": args.connections, "duration_s": args.duration,
        "tokens_per_sentence": ids.shape[1],
        "served_per_s": served, "best_raw_per_s": {side: best[side]["best_docs_per_s"] for side in SIDES},
        "best_raw_layout": {side: best[side]["layout"] for side in SIDES},
        "served_to_raw": to_raw, "int8_over_float32": speedup, "raw_int8_over_float32": raw_speedup,
        "compared_sentences": len(compared), "embeddings_compared": "served",
        "cosine_mean": cosine_mean, "cosine_min": cosine_min,
        "definition_bytes": definition_bytes, "weights_bytes": weights_bytes,
        "failed": sum(run["failed"] for run in everything), "cache_hits": sum(run["cache_hits"] for run in everything),
        "repeated_requests": sum(run["load"]["repeated"] for run in everything),
        "load_generator": load_generator_summary(everything), "runs": runs, "raw": layouts,
    }
    met = speedup > 1 and cosine_mean >= TARGET_COSINE
    finish(args, "quantized", results, f"int8 / float32 served > 1 (got {speedup:.2f}) and mean cosine >= "
           f"{TARGET_COSINE} (got {cosine_mean:.4f})", met, started)


if __name__ == "__main__":
    main()
