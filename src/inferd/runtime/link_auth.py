"""Authenticating a worker's TCP link: both ends prove they hold the worker's secret before any message passes.

A remote worker makes a random 32-byte secret when it starts; the server learns it through the cluster backend's
control plane (Ray's), and the secret itself never crosses the data connection. On each connection the worker
sends a challenge (a fresh nonce); the server answers HMAC-SHA256(secret, "server" + that nonce) with a nonce of
its own; the worker checks the answer and replies HMAC-SHA256(secret, "worker" + the server's nonce), which the
server checks. A peer without the secret is cut off within the handshake, learns nothing, and cannot replay a
recorded handshake (fresh nonces both ways); until it is done, frames are bounded to a few hundred bytes, so an
unauthenticated peer cannot make either end allocate more. The link is authenticated, not encrypted: README's
"Many machines" says what that means for the network between the server and its nodes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import socket
from typing import TypeVar

import msgspec

from inferd.runtime import protocol

SECRET_BYTES = 32
NONCE_BYTES = 32
HANDSHAKE_FRAME_BYTES = 256
HANDSHAKE_TIMEOUT_S = 10.0
_SERVER, _WORKER = b"inferd-server", b"inferd-worker"


class Challenge(msgspec.Struct, frozen=True, tag=True):
    """Worker -> server, first: prove you hold my secret, for this nonce."""

    nonce: bytes
    protocol_version: int


class Proof(msgspec.Struct, frozen=True, tag=True):
    """Server -> worker: the proof, and a nonce for the worker's own."""

    mac: bytes
    nonce: bytes


class Accepted(msgspec.Struct, frozen=True, tag=True):
    """Worker -> server: the worker's proof; protocol messages follow."""

    mac: bytes


class HandshakeFailed(Exception):
    pass


_decoder = msgspec.msgpack.Decoder(Challenge | Proof | Accepted)
_M = TypeVar("_M", Challenge, Proof, Accepted)


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def admit(sock: socket.socket, secret: bytes) -> None:
    """The worker's side: challenge the peer, check its proof, prove itself; HandshakeFailed if the peer is not
    the server (or OSError if the connection fails)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    _send(sock, Challenge(nonce, protocol.PROTOCOL_VERSION))
    proof = _receive(sock, Proof)
    if not hmac.compare_digest(proof.mac, _mac(secret, _SERVER, nonce)):
        raise HandshakeFailed("the peer does not hold the worker's secret")
    _send(sock, Accepted(_mac(secret, _WORKER, _nonce_of(proof))))


def greet(sock: socket.socket, secret: bytes) -> None:
    """The server's side: answer the worker's challenge, then check the worker's own proof."""
    challenge = _receive(sock, Challenge)
    if challenge.protocol_version != protocol.PROTOCOL_VERSION:
        raise HandshakeFailed(f"the worker speaks protocol [{challenge.protocol_version}], the server "
                              f"[{protocol.PROTOCOL_VERSION}]")
    nonce = secrets.token_bytes(NONCE_BYTES)
    _send(sock, Proof(_mac(secret, _SERVER, _nonce_of(challenge)), nonce))
    accepted = _receive(sock, Accepted)
    if not hmac.compare_digest(accepted.mac, _mac(secret, _WORKER, nonce)):
        raise HandshakeFailed("the worker does not hold its secret")


def _mac(secret: bytes, role: bytes, nonce: bytes) -> bytes:
    return hmac.new(secret, role + nonce, hashlib.sha256).digest()


def _nonce_of(message: Challenge | Proof) -> bytes:
    if len(message.nonce) != NONCE_BYTES:
        raise HandshakeFailed(f"a nonce of {len(message.nonce)} bytes, not {NONCE_BYTES}")
    return message.nonce


def _send(sock: socket.socket, message: msgspec.Struct) -> None:
    sock.sendall(protocol.frame(message))


def _receive(sock: socket.socket, expected: type[_M]) -> _M:
    header = _receive_exactly(sock, protocol.HEADER_BYTES)
    try:
        length = protocol.frame_length(header, HANDSHAKE_FRAME_BYTES)
        message = _decoder.decode(_receive_exactly(sock, length))
    except (ValueError, msgspec.DecodeError) as error:
        raise HandshakeFailed(f"an unreadable handshake frame: {error}") from None
    if not isinstance(message, expected):
        raise HandshakeFailed(f"expected {expected.__name__}, got {type(message).__name__}")
    return message


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    """Exactly `size` bytes off the socket, with no read-ahead (protocol frames follow the handshake)."""
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise HandshakeFailed("the connection closed during the handshake")
        data += chunk
    return bytes(data)
