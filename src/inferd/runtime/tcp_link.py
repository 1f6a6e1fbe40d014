"""The worker's end of a TCP link to its server: the `WorkerLink` of a worker on another machine.

The worker listens on its node; the server connects, both prove they hold the worker's secret (`link_auth.py`),
and then the same frames as a local worker's pipes pass both ways. The first connection that proves itself is the
server's, and the only one: when it ends, the server is gone (or has given up on this worker), so `messages()` ends
and the worker shuts down. A worker no server reaches within `connect_timeout_s` shuts down too, so nothing is left
behind on a node by a server that died while the worker started.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from collections.abc import Iterator

import msgspec

from inferd.runtime import link_auth, protocol

logger = logging.getLogger(__name__)


class TcpLink:
    def __init__(self, listener: socket.socket, secret: bytes, connect_timeout_s: float) -> None:
        self._listener = listener
        self._secret = secret
        self._connect_timeout_s = connect_timeout_s
        self._admitted: queue.SimpleQueue[socket.socket] = queue.SimpleQueue()
        self._server: socket.socket | None = None
        self._send_lock = threading.Lock()
        threading.Thread(target=self._accept, name="link-accept", daemon=True).start()

    def messages(self) -> Iterator[protocol.ToWorker]:
        try:
            connection = self._admitted.get(timeout=self._connect_timeout_s)
        except queue.Empty:
            logger.warning("no server connected within %.0fs: the worker stops", self._connect_timeout_s)
            return
        self._listener.close()  # one server per worker: nobody else gets in
        with self._send_lock:
            self._server = connection
        stream = connection.makefile("rb")
        try:
            while (payload := protocol.read_frame(stream)) is not None:
                yield protocol.to_worker_decoder.decode(payload)
        except (OSError, ValueError, msgspec.DecodeError) as error:
            logger.error("the server's connection failed or sent an unreadable frame (%s)", error)
        finally:
            stream.close()
            connection.close()

    def send(self, message: msgspec.Struct) -> None:
        """Write to the server (from any thread); once its connection is gone, the message is dropped."""
        data = protocol.frame(message)
        with self._send_lock:
            if self._server is None:
                return
            try:
                self._server.sendall(data)
            except OSError:
                pass  # the reader sees the connection end, and the worker shuts down

    def _accept(self) -> None:
        while True:
            try:
                connection, peer = self._listener.accept()
            except OSError:  # closed: the server is connected, or the worker is ending
                return
            threading.Thread(target=self._admit, args=(connection, peer), name="link-admit", daemon=True).start()

    def _admit(self, connection: socket.socket, peer: tuple[str, int]) -> None:
        connection.settimeout(link_auth.HANDSHAKE_TIMEOUT_S)
        try:
            link_auth.admit(connection, self._secret)
        except (OSError, link_auth.HandshakeFailed) as error:
            logger.warning("refused a connection from %s:%s: %s", peer[0], peer[1], error)
            connection.close()
            return
        connection.settimeout(None)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._admitted.put(connection)


def listen(host: str, ports: range | None) -> socket.socket:
    """A listening socket on `host`, on the first free port of `ports` (any free port when None)."""
    for port in ports or (0,):
        listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind((host, port))
        except OSError:
            listener.close()
            continue
        listener.listen(8)
        return listener
    raise OSError(f"no free port for the worker's link in {ports.start}-{ports.stop - 1} on {host}"
                  if ports else f"cannot listen on {host}")
