"""SIGKILL the server at random moments of a multi-part upload: what was acknowledged survives, nothing else does.

After each kill the store is read directly (the server is dead, so the file is quiet) and checked against
what the client saw: every acknowledged step is there, only the one request in flight may also be there,
and a build is complete only when every part is present and the bytes add up. Then the server restarts on
the same data dir and the upload carries on where it stopped.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from elasticsearch import ApiError, Elasticsearch
from elasticsearch.exceptions import ConnectionError as TransportConnectionError

from tests.support.models import TestModel
from tests.support.server import ServerProcess, client_for

CHUNK = 16 * 1024
KILLS = int(os.environ.get("INFERD_CRASH_KILLS", "10"))
"""Kills per run: each run draws new moments, so CI covers more over time; a soak run sets more (24 took 3.5 minutes of
a 2-core CI run, a fifth of the suite)."""
pytestmark = pytest.mark.slow


@dataclass
class UploadLog:
    """What the client saw: steps acknowledged, and the one step sent but not answered."""

    acked: set[str] = field(default_factory=set)
    in_flight: str | None = None


def steps(parts: int) -> list[str]:
    return ["config", *(f"part-{i}" for i in range(parts)), "vocabulary"]


def run_step(es: Elasticsearch, model_id: str, model: TestModel, chunks: list[bytes], step: str) -> None:
    if step == "config":
        try:
            es.ml.put_trained_model(model_id=model_id, body=model.config)
        except ApiError as error:  # stored by a request whose answer was lost to a kill
            if error.meta.status != 400 or "already exists" not in str(error.body):
                raise
    elif step == "vocabulary":
        es.ml.put_trained_model_vocabulary(model_id=model_id, body=model.vocabulary)
    else:
        index = int(step.split("-")[1])
        es.ml.put_trained_model_definition_part(
            model_id=model_id, part=index, definition=base64.b64encode(chunks[index]).decode(),
            total_definition_length=model.size_bytes, total_parts=len(chunks),
        )


def upload(es: Elasticsearch, model_id: str, model: TestModel, chunks: list[bytes], log: UploadLog) -> None:
    """Send every step not yet acknowledged, in order, until the server dies under us."""
    for step in steps(len(chunks)):
        if step in log.acked:
            continue
        log.in_flight = step
        try:
            run_step(es, model_id, model, chunks, step)
        except (TransportConnectionError, ConnectionError):
            return
        log.acked.add(step)
        log.in_flight = None


def stored_state(data_dir: Path, model_id: str) -> tuple[set[str], dict[int, str], str | None, int | None]:
    """Read the store as the dead server left it: steps present, part hashes, the build's hash and total length."""
    with sqlite3.connect(data_dir / "inferd.db") as db:
        present: set[str] = set()
        if db.execute("SELECT 1 FROM models WHERE model_id = ?", (model_id,)).fetchone():
            present.add("config")
        if db.execute("SELECT 1 FROM vocabularies WHERE model_id = ?", (model_id,)).fetchone():
            present.add("vocabulary")
        parts = dict(db.execute("SELECT part, sha256 FROM definition_parts WHERE model_id = ?", (model_id,)))
        build = db.execute(
            "SELECT definition_sha256, total_definition_length FROM builds WHERE model_id = ?", (model_id,)
        ).fetchone()
    present |= {f"part-{index}" for index in parts}
    sha256, total = build if build else (None, None)
    return present, parts, sha256, total


def test_sigkill_at_random_moments_loses_nothing_acknowledged(tmp_path: Path, echo_model: TestModel) -> None:
    data = echo_model.definition_path.read_bytes()
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    assert len(chunks) >= 15
    rng = random.Random(20261122)
    server = ServerProcess(tmp_path / "data")
    model_number, log, kills, rounds = 0, UploadLog(), 0, 0
    while True:
        model_id = f"crash-{model_number}"
        server.start()
        es = client_for(server.url)
        uploader = threading.Thread(target=upload, args=(es, model_id, echo_model, chunks, log))
        uploader.start()
        # Mostly early kills, between and during part requests (the completing part's TorchScript check
        # takes seconds, so many land mid-check); every fourth round runs long enough to finish, so the
        # upload always progresses however slow the machine is.
        uploader.join(timeout=rng.uniform(0.0, 0.5) if rounds % 4 != 3 else 60)
        rounds += 1
        finished = not uploader.is_alive()
        server.kill()
        uploader.join(timeout=30)
        assert not uploader.is_alive()
        if not finished:
            kills += 1

        present, parts, sha256, total = stored_state(server.data_dir, model_id)
        maybe = {log.in_flight} if log.in_flight else set()
        assert log.acked <= present, f"acknowledged but lost: {sorted(log.acked - present)}"
        assert present <= log.acked | maybe, f"stored but never sent: {sorted(present - log.acked - maybe)}"
        for index, digest in parts.items():
            assert digest == hashlib.sha256(chunks[index]).hexdigest()
        if sha256 is not None:
            assert len(parts) == len(chunks) and total == len(data)
            assert sha256 == hashlib.sha256(data).hexdigest()
        log.acked, log.in_flight = present, None  # carry on from what is stored

        if log.acked == set(steps(len(chunks))):
            if kills >= KILLS:
                break
            model_number, log = model_number + 1, UploadLog()

    server.start()
    try:
        es = client_for(server.url)
        configs = es.ml.get_trained_models(model_id="crash-*", include="definition_status")["trained_model_configs"]
        assert [c["fully_defined"] for c in configs] == [True] * (model_number + 1)
        assert {c["inferd"]["definition_sha256"] for c in configs} == {hashlib.sha256(data).hexdigest()}
    finally:
        server.stop()
