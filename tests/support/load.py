"""Load and faults for integration tests: clients that check their own results, and killing a worker."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from elasticsearch import ApiError, Elasticsearch

from tests.support.api import echoed_ids, expected_ids, workers
from tests.support.models import HANG_WORD, SLOW_WORD, VOCABULARY

PLAIN_WORDS = [word for word in VOCABULARY[5:] if word.isalpha() and word not in (SLOW_WORD, HANG_WORD)]
"""Words the echo and slow models answer at once, each one token."""


@dataclass
class Load:
    """Clients sending distinct documents without pause; each checks its own result and counts every failure.

    Give it a client with a connection per load client (`connections_per_node`), so that calls made on
    another client meanwhile (resizes, stats) never wait for a free connection.
    """

    es: Elasticsearch
    model_id: str
    clients: int = 8
    slow_words: int = 0
    """How many times each document says `slow`: the slow model's work per document (the echo model ignores it)."""
    answered: list[int] = field(init=False)
    """Correct answers per client."""
    failures: list[tuple[int, str]] = field(default_factory=list)
    """(HTTP status, or -1 when there was no answer; what was said) per failed call."""
    wrong: list[str] = field(default_factory=list)
    on_answer: Callable[[float, dict[str, Any]], None] | None = None
    """Called with when the request was sent (time.monotonic) and its correct result, e.g. to see which build
    answered."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.answered = [0] * self.clients

    @property
    def ok(self) -> int:
        return sum(self.answered)

    def _run(self, index: int) -> None:
        own = random.Random(index)
        while not self._stop.is_set():
            words = [own.choice(PLAIN_WORDS) for _ in range(own.randint(2, 8))]
            text = " ".join([SLOW_WORD] * self.slow_words + words)
            sent = time.monotonic()
            try:
                response = self.es.ml.infer_trained_model(model_id=self.model_id, docs=[{"text_field": text}])
                result = response["inference_results"][0]
                if echoed_ids(result) == expected_ids(text):
                    self.answered[index] += 1
                    if self.on_answer is not None:
                        self.on_answer(sent, result)
                else:
                    with self._lock:
                        self.wrong.append(text)
            except ApiError as error:
                with self._lock:
                    self.failures.append((error.meta.status, str(error.body)))
            except Exception as error:  # noqa: BLE001 - a connection error or anything else counts too
                with self._lock:
                    self.failures.append((-1, repr(error)))

    def __enter__(self) -> Load:
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
            assert not thread.is_alive(), "a client hung"


def kill_worker(http: httpx.Client, deployment_id: str, node: str = "node-0") -> int:
    (pid,) = [w["pid"] for w in workers(http, deployment_id) if w["node"] == node]
    os.kill(pid, signal.SIGKILL)
    return pid


def serving_again(http: httpx.Client, deployment_id: str, old_pid: int) -> Callable[[], bool]:
    def check() -> bool:
        found = [w for w in workers(http, deployment_id) if w.get("pid")]
        return bool(found) and all(w["pid"] != old_pid and w["routing_state"] == "started" for w in found)
    return check
