"""A DNS proxy in front of the lab's BIND with a switchable fault: lose the answer to an UPDATE.

Real networks lose answers: the primary commits an update and its reply never reaches the client
(a timeout, a connection reset by a firewall). The proxy relays DNS over TCP (RFC 1035 4.2.2,
two-byte length prefix) and UDP unchanged, except for UPDATE messages (opcode 5, RFC 2136) while a
fault is on:

- ``lose_answer``: forward the update to BIND, read its reply, then close the connection (TCP) or
  drop the datagram (UDP) - the change is committed, the client never hears so.
- ``swallow``: close (TCP) or drop (UDP) without forwarding - nothing is committed, and the client
  cannot tell this from the case above.

A ``relay`` entry in the fault queue lets one update through unchanged (to fail the second one).
Queries always pass, so a client can read the zone again to find out what happened.
"""

from __future__ import annotations

import socket
import struct
import threading

UPDATE = 5
MODES = ("relay", "lose_answer", "swallow")


def _opcode(message):
    return (message[2] >> 3) & 0x0F if len(message) >= 3 else None


def _read_exact(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


class DnsProxy:
    """Listens on 127.0.0.1 (TCP and UDP, one port) and relays to ``upstream``; a context manager."""

    def __init__(self, upstream_host, upstream_port, timeout=5.0):
        self.upstream = (upstream_host, int(upstream_port))
        self.timeout = timeout
        self._lock = threading.Lock()
        self._faults = []          # modes still to apply, one per UPDATE
        self.updates = []          # what happened to each UPDATE: relayed / lose_answer / swallow
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp.listen(16)
        self._closed = False
        for target in (self._accept_loop, self._udp_loop):
            threading.Thread(target=target, daemon=True).start()

    # -- switching -------------------------------------------------------------
    def fault(self, mode, count=1):
        if mode not in MODES:
            raise ValueError("mode must be one of %s" % ", ".join(MODES))
        with self._lock:
            self._faults.extend([mode] * int(count))

    def clear(self):
        with self._lock:
            self._faults = []

    def _next_fault(self):
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    # -- relaying --------------------------------------------------------------
    def _accept_loop(self):
        while not self._closed:
            try:
                client, _addr = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._serve_tcp, args=(client,), daemon=True).start()

    def _serve_tcp(self, client):
        client.settimeout(self.timeout)
        try:
            while True:
                length = struct.unpack("!H", _read_exact(client, 2))[0]
                message = _read_exact(client, length)
                mode = self._next_fault() if _opcode(message) == UPDATE else None
                mode = None if mode == "relay" else mode
                if mode == "swallow":
                    self.updates.append(mode)
                    return
                reply = self._ask_tcp(message)
                if mode == "lose_answer":
                    self.updates.append(mode)
                    return
                if _opcode(message) == UPDATE:
                    self.updates.append("relayed")
                client.sendall(struct.pack("!H", len(reply)) + reply)
        except (OSError, EOFError, struct.error):
            return
        finally:
            client.close()

    def _ask_tcp(self, message):
        with socket.create_connection(self.upstream, timeout=self.timeout) as upstream:
            upstream.sendall(struct.pack("!H", len(message)) + message)
            length = struct.unpack("!H", _read_exact(upstream, 2))[0]
            return _read_exact(upstream, length)

    def _udp_loop(self):
        while not self._closed:
            try:
                message, client = self.udp.recvfrom(65535)
            except OSError:
                return
            mode = self._next_fault() if _opcode(message) == UPDATE else None
            mode = None if mode == "relay" else mode
            if mode == "swallow":
                self.updates.append(mode)
                continue
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as upstream:
                    upstream.settimeout(self.timeout)
                    upstream.sendto(message, self.upstream)
                    reply, _addr = upstream.recvfrom(65535)
            except OSError:
                continue
            if mode == "lose_answer":
                self.updates.append(mode)
                continue
            if _opcode(message) == UPDATE:
                self.updates.append("relayed")
            self.udp.sendto(reply, client)

    def close(self):
        self._closed = True
        for sock in (self.tcp, self.udp):
            try:
                # shutdown wakes the thread blocked in accept()/recvfrom(); close alone does not on Linux.
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                sock.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
