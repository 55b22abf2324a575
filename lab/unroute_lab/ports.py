"""Free loopback ports for lab services."""

from __future__ import annotations

import socket


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
