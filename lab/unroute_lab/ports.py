"""Free loopback ports for lab services."""

from __future__ import annotations

import socket
import time


def free_port(udp_too=False):
    """A port free for TCP (and UDP when asked) on 127.0.0.1 right now."""
    for _ in range(50):
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        try:
            if udp_too:
                udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                finally:
                    udp.close()
            return port
        finally:
            tcp.close()
    raise RuntimeError("no free loopback port found")


def wait_listening(proc, port, timeout=10.0):
    """True once 127.0.0.1:port accepts a connection; False when ``proc`` exits or ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False
