"""The worker's end of a TCP link to its server: the `WorkerLink` of a worker on another machine.

The worker listens on its node; the server connects, both prove they hold the worker's secret (`link_auth.py`),
and then the same frames as a local worker's pipes pass both ways. One server at a time: a connection that proves
itself takes the link over, and the one it replaces is closed (a server that crashed, or whose machine died and
left a half-open connection behind). A worker outlives its server's connection: the next server, holding the same
secret (its backend keeps it), reconnects and adopts it. A worker no server holds for `orphan_timeout_s` (or none
reaches within `connect_timeout_s` of its start) shuts down, so nothing is left running on a node for good.
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
    def __init__(self, listener: socket.socket, secret: bytes, connect_timeout_s: float,
                 orphan_timeout_s: float) -> None:
        self._listener = listener
        self._secret = secret
        self._connect_timeout_s = connect_timeout_s
        self._orphan_timeout_s = orphan_timeout_s
        self._admitted: queue.SimpleQueue[socket.socket] = queue.SimpleQueue()
        self._server: socket.socket | None = None
        self._send_lock = threading.Lock()
        threading.Thread(target=self._accept, name="link-accept", daemon=True).start()

    def messages(self) -> Iterator[protocol.ToWorker]:
        """Every message of every server that holds the link in turn, until none has for the orphan timeout."""
        timeout_s = self._connect_timeout_s
        try:
            while (connection := self._next_server(timeout_s)) is not None:
                yield from self._read(connection)
                timeout_s = self._orphan_timeout_s
                logger.warning("the server's connection ended: waiting up to %.0fs for a server to adopt the worker",
                               timeout_s)
        finally:
            self._listener.close()

    def _next_server(self, timeout_s: float) -> socket.socket | None:
        try:
            connection = self._admitted.get(timeout=timeout_s)
        except queue.Empty:
            logger.warning("no server connected within %.0fs: the worker stops", timeout_s)
            return None
        with self._send_lock:
            self._server = connection
        return connection

    def _read(self, connection: socket.socket) -> Iterator[protocol.ToWorker]:
        stream = connection.makefile("rb")
        try:
            while (payload := protocol.read_frame(stream)) is not None:
                yield protocol.to_worker_decoder.decode(payload)
        except (OSError, ValueError, msgspec.DecodeError) as error:
            logger.error("the server's connection failed or sent an unreadable frame (%s)", error)
        finally:
            with self._send_lock:
                if self._server is connection:
                    self._server = None
            stream.close()
            connection.close()

    def send(self, message: msgspec.Struct) -> None:
        """Write to the server (from any thread); while no server holds the link, the message is dropped."""
        data = protocol.frame(message)
        with self._send_lock:
            if self._server is None:
                return
            try:
                self._server.sendall(data)
            except OSError:
                pass  # the reader sees the connection end

    def _accept(self) -> None:
        while True:
            try:
                connection, peer = self._listener.accept()
            except OSError:  # closed: the worker is ending
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
        with self._send_lock:
            replaced = self._server
        if replaced is not None and replaced is not connection:
            logger.warning("a server connected from %s:%s: it takes the link over", peer[0], peer[1])
            try:
                replaced.shutdown(socket.SHUT_RDWR)  # its reader ends, and the new server's messages follow
            except OSError:
                pass  # already closed


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
