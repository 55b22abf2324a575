# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Relay host spellings shared by the MTA engines: parse, match against the fingerprint, validate a replacement."""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


def split_nexthop(text):
    """``[host]:port`` / ``host:port`` / ``[host]`` / ``host`` -> (host, port or None, bracketed)."""
    text = str(text or "").strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return text, None, False
        host = text[1:end]
        rest = text[end + 1:]
        port = rest[1:] if rest.startswith(":") else None
        return host, port or None, True
    if text.count(":") == 1:
        host, port = text.split(":", 1)
        return host, port or None, False
    return text, None, False


def evidence(fingerprint, host):
    """Fingerprint evidence for one host or address (brackets, ports and ``ipv6:`` prefixes removed)."""
    host = str(host or "").strip()
    if host.lower().startswith("ipv6:"):
        host = host[5:]
    host = host.rstrip(".")
    if not host:
        return None
    return fingerprint.host(host) or fingerprint.ip(host)


def valid_host(host):
    if not host:
        return False
    probe = host[5:] if host.lower().startswith("ipv6:") else host
    try:
        ipaddress.ip_address(probe)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return all(_LABEL.match(label) for label in labels)


def validate_replacement(value, fingerprint, where):
    """A replacement relay: ``host``, ``host:port``, ``[host]`` or ``[host]:port``, and not mxHero's.

    Returns (host, port or None, bracketed). ``where`` names the mail server for the error line.
    """
    text = str(value or "").strip()
    host, port, bracketed = split_nexthop(text)
    if not text or not valid_host(host) or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
        raise UnrouteError(where, "replacement %r" % text, "is not a relay of the form host[:port] or [host]:port",
                           "set replacement to the relay to use instead, for example [relay.example.net]:587")
    found = evidence(fingerprint, host)
    if found:
        raise UnrouteError(where, "replacement %s" % text, "is mxHero's own relay (%s)" % found,
                           "set replacement to the relay to use instead of mxHero, or use state=absent")
    return host, port, bracketed
