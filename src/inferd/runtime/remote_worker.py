"""A worker on another machine: the worker of `worker.py`, speaking to its server over TCP (`tcp_link.py`).

Its node's supervisor (`cluster/ray_node.py`) starts it as
`python -m inferd.runtime.remote_worker --listen-fd N --definitions DIR`: the supervisor made the listening socket
(so it knows the port before the worker runs) and writes the link's secret on the worker's stdin, never on its
command line, which anyone on the machine can read. The definition is the file named by its SHA-256 in DIR, where
the supervisor put it; the path in `LoadModel` is the server's. The worker dies with its supervisor.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import warnings
from pathlib import Path

from inferd.child_process import die_with_parent
from inferd.runtime import link_auth, worker
from inferd.runtime.protocol import LoadModel
from inferd.runtime.tcp_link import TcpLink

CONNECT_TIMEOUT_S = 60.0
"""How long the worker waits for its server to connect before it gives up and exits."""


def definition_file(definitions: Path, sha256: str) -> Path:
    """Where a node keeps the definition with this SHA-256."""
    return definitions / f"{sha256}.pt"


def main() -> None:
    die_with_parent()
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # TorchScript's deprecation notice
    parser = argparse.ArgumentParser(prog="python -m inferd.runtime.remote_worker")
    parser.add_argument("--listen-fd", type=int, required=True)
    parser.add_argument("--definitions", type=Path, required=True)
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

    code = worker.serve(TcpLink(listener, secret, CONNECT_TIMEOUT_S), prepare=prepare)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the reader thread may be blocked on the socket; interpreter shutdown would wait on it


if __name__ == "__main__":
    main()
