"""The worker loads its model with one intra-op thread, then gives each allocation its own.

Loading a large model with several intra-op threads starts an OpenMP team in the loading (main) thread. That
idle team makes OpenMP's threads outnumber the processors, and OpenMP then stops spinning between the parallel
regions of every team: each region of every forward pass waits for its threads to wake (bench/latency.py:
a pass of 1 allocation x 2 threads went from 6.8 to 7.9 ms). The check runs in a fresh process, as it sets
torch's process-wide thread counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

SCRIPT = """
import json, pathlib, sys, torch
from inferd.runtime import worker
from inferd.runtime.protocol import LoadModel

threads_at_load = []
real_load = worker.load_torchscript

def recording_load(path, *placement):
    threads_at_load.append(torch.get_num_threads())
    return real_load(path, *placement)

worker.load_torchscript = recording_load
message = LoadModel(definition_path=sys.argv[1], task_type="pass_through",
                    tokenization={"bert": {"do_lower_case": True}}, vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"],
                    merges=None, scores=None, threads_per_allocation=3, allocations=1, max_batch_rows=4,
                    max_batch_tokens=512, cache_size_bytes=0)
worker._load(message, pathlib.Path(sys.argv[1]))
print(json.dumps({"at_load": threads_at_load, "after": torch.get_num_threads()}))
"""


class Identity(torch.nn.Module):
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return input_ids.float()


def test_the_model_loads_on_one_thread_and_allocations_get_theirs(tmp_path: Path) -> None:
    definition = tmp_path / "identity.pt"
    torch.jit.script(Identity()).save(str(definition))
    finished = subprocess.run([sys.executable, "-c", SCRIPT, str(definition)], capture_output=True, text=True,
                              timeout=120, check=True)
    assert json.loads(finished.stdout.strip().splitlines()[-1]) == {"at_load": [1], "after": 3}
