"""A worker on another machine: the worker of `worker.py`, speaking to its server over TCP (`tcp_link.py`).

Its node's supervisor (`cluster/ray_node.py`) starts it with `spawn_remote_worker`: the listening socket is made
first (so the port is known before the worker runs) and handed down, and the link's secret is written on the
worker's stdin, never on its command line, which anyone on the machine can read. The definition is the file named
by its SHA-256 in the definitions directory, where the supervisor put it (the path in `LoadModel` is the server's).
The worker dies with the process that started it (the node's supervisor), and outlives its server's connection
by up to its orphan timeout, for the next server to adopt it (`tcp_link.py`).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path
from typing import NamedTuple

from inferd.child_process import die_with_parent
from inferd.runtime import link_auth
from inferd.runtime.process_channel import worker_environment
from inferd.runtime.protocol import LoadModel
from inferd.runtime.tcp_link import TcpLink, listen

CONNECT_TIMEOUT_S = 60.0
"""How long the worker waits for its server to connect before it gives up and exits."""
ORPHAN_TIMEOUT_S = 60.0
"""How long a worker whose server's connection ended waits for a server to adopt it before it exits (default)."""


def definition_file(definitions: Path, sha256: str) -> Path:
    """Where a node keeps the definition with this SHA-256."""
    return definitions / f"{sha256}.pt"


class RemoteWorkerProcess(NamedTuple):
    """A worker process just started: where it listens, and the secret the server proves itself with."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    secret: bytes


def spawn_remote_worker(definitions: Path, log_path: Path, host: str, ports: range | None,
                        orphan_timeout_s: float = ORPHAN_TIMEOUT_S) -> RemoteWorkerProcess:
    """Start a worker listening on `host` (the first free port of `ports`), logging to `log_path`, that ends
    `orphan_timeout_s` after its last server's connection if no server adopts it."""
    listener = listen(host, ports)
    secret = link_auth.new_secret()
    try:
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "inferd.runtime.remote_worker", "--listen-fd", str(listener.fileno()),
                 "--definitions", str(definitions), "--orphan-timeout", str(orphan_timeout_s)],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, pass_fds=(listener.fileno(),),
                env=worker_environment())
        port = int(listener.getsockname()[1])
    finally:
        listener.close()  # the worker holds its own copy
    assert process.stdin is not None
    process.stdin.write(secret)
    process.stdin.close()
    return RemoteWorkerProcess(process, host, port, secret)


def main() -> None:
    from inferd.runtime import worker  # torch: only in the worker, not in the supervisor that spawns it

    die_with_parent()
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # TorchScript's deprecation notice
    parser = argparse.ArgumentParser(prog="python -m inferd.runtime.remote_worker")
    parser.add_argument("--listen-fd", type=int, required=True)
    parser.add_argument("--definitions", type=Path, required=True)
    parser.add_argument("--orphan-timeout", type=float, default=ORPHAN_TIMEOUT_S)
    arguments = parser.parse_args()
    secret = sys.stdin.buffer.read(link_auth.SECRET_BYTES)
    if len(secret) != link_auth.SECRET_BYTES:
        sys.exit("no secret on stdin")
    listener = socket.socket(fileno=arguments.listen_fd)

    def prepare(message: LoadModel) -> Path:
        worker.set_up_process(message)
        if message.definition_sha256 is None:
            raise ValueError("a remote worker finds its definition by SHA-256, and the server sent none")
        return definition_file(arguments.definitions, message.definition_sha256)

    code = worker.serve(TcpLink(listener, secret, CONNECT_TIMEOUT_S, arguments.orphan_timeout), prepare=prepare)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the reader thread may be blocked on the socket; interpreter shutdown would wait on it


if __name__ == "__main__":
    main()
