# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Relay host spellings shared by the MTA engines: parse, match against the fingerprint, validate a replacement.

A replacement is parsed once, strictly, into a ``Relay`` and each engine writes it in its own MTA's grammar
(``postfix_nexthop``, ``exim_host``, ``sendmail_host``), so what lands in a file is always built from checked
parts, never the text as typed: ``[relay.isp.example]]:25`` is refused before anything is read or written.

Grammars (vendors' references):
- Postfix next hop (postconf(5) relayhost, transport(5)): ``host``, ``host:port``, ``[host]``, ``[host]:port``;
  an IP address only in brackets (``postfix_problem``); in transport places ``transport:nexthop``.
- Exim host list (Debian update-exim4.conf.conf(5) dc_smarthost, manualroute route_list): ``host``,
  ``host::port``; colons of an IPv6 address doubled, and the address in brackets when a port follows.
- Sendmail (cf/README SMART_HOST, mailertable): ``[host]`` or ``mailer:[host]``, ``[IPv6:addr]``; no port.
"""

from __future__ import annotations

import collections
import re
import socket

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._names import ip_address, name_problem

# A master.cf service name as a transport: no dots, so ``relay.isp.example:smtp`` is never read as one.
_TRANSPORT = re.compile(r"^[A-Za-z0-9_-]+$")
_FORMS = "[host]:port, [host], host:port or host"

Relay = collections.namedtuple("Relay", "host port bracketed transport")
Relay.__new__.__defaults__ = (None,)


def split_nexthop(text):
    """``[host]:port`` / ``host:port`` / ``[host]`` / ``host`` -> (host, port or None, bracketed), leniently.

    For reading what a configuration already holds (matching against the fingerprint), not for writing."""
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


def _parse_nexthop(text):
    """(Relay or None, problem or None) for one next hop, strictly: the grammar the three MTAs share (Postfix's
    host_port() rejects anything after ']' but ':port'); what one MTA adds is checked by its engine."""
    if not text:
        return None, "is empty"
    if any(c.isspace() for c in text) or "," in text:
        return None, "holds a space or a comma (one relay only)"
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None, "opens '[' without closing it"
        host, rest = text[1:end], text[end + 1:]
        if not host:
            return None, "has nothing between '[' and ']'"
        if rest and not rest.startswith(":"):
            return None, "has %r after ']'; only :port may follow" % rest
        port = rest[1:] if rest else None
        if rest and not port:
            return None, "ends in ':' with no port"
        bracketed = True
    else:
        if "]" in text:
            return None, "has ']' without '['"
        if text.count(":") > 1:
            return None, "holds more than one ':' (an IPv6 address goes in brackets: [2001:db8::1]:25)"
        host, _sep, port = text.partition(":")
        if _sep and not port:
            return None, "ends in ':' with no port"
        port = port or None
        bracketed = False
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        return None, "has the port %r; a port is a number from 1 to 65535" % port
    address = ip_address(host)
    if address is None:
        if host.lower().startswith("ipv6:") or "[" in host:
            return None, "has %r inside the brackets, which is no IP address" % host
        problem = name_problem(host, host=True)
        if problem:
            return None, "the host %s" % problem
    return Relay(host.rstrip(".") if address is None else str(address), port, bracketed), None


def parse_replacement(value, fingerprint, where):
    """A replacement relay, strictly: ``[host]:port``, ``[host]``, ``host:port``, ``host``, or (Postfix transport
    places only) ``transport:nexthop``; never mxHero's. Raises one line naming the value."""
    text = str(value or "").strip()
    transport = None
    head, sep, rest = text.partition(":")
    if sep and _TRANSPORT.match(head) and not head.isdigit() and not rest.isdigit() \
            and (rest.startswith("[") or rest.count(":") <= 1) and ip_address(text) is None:
        # transport:nexthop (smtp:[relay]:25, relay:relay.isp.example); host:port has digits after the colon.
        transport, text = head, rest
    found = evidence(fingerprint, split_nexthop(text)[0])
    if found:
        raise UnrouteError(where, "replacement %s" % str(value).strip(), "is mxHero's own relay (%s)" % found,
                           "set replacement to the relay to use instead of mxHero, or use state=absent")
    relay, problem = _parse_nexthop(text)
    if problem:
        raise UnrouteError(where, "replacement %r" % str(value or ""), "%s; a relay is written %s" % (problem, _FORMS),
                           "set replacement to the relay to use instead, for example [relay.example.net]:587")
    return relay._replace(transport=transport)


def resolve_problem(relay):
    """Why the relay's host does not resolve on this host, or None.

    The system resolver (getaddrinfo: DNS and /etc/hosts, as smtp_host_lookup = dns, native does); a name
    without brackets is also found by its MX when dnspython is at hand, as Postfix looks up MX first there.
    An address literal needs no lookup.
    """
    if ip_address(relay.host) is not None:
        return None
    try:
        if socket.getaddrinfo(relay.host, int(relay.port or 25), 0, socket.SOCK_STREAM):
            return None
        cause = "no address"
    except (socket.gaierror, socket.herror, UnicodeError, OSError) as err:
        cause = getattr(err, "strerror", None) or str(err)
    if not relay.bracketed and _has_mx(relay.host):
        return None
    return "the relay host %s does not resolve on this mail server (%s)" % (relay.host, cause)


def _has_mx(name):
    try:
        import dns.resolver
    except ImportError:
        return False
    try:
        return bool(dns.resolver.resolve(name, "MX", lifetime=5))
    except Exception:  # noqa: B902 - any failure of the lookup is "no MX"
        return False


validate_replacement = parse_replacement


def refuse_transport(where, relay, grammar):
    """transport:nexthop is Postfix's; another MTA's file would get a host it cannot parse."""
    if relay is not None and relay.transport:
        raise UnrouteError(where, "replacement %s:%s" % (relay.transport, postfix_nexthop(relay)),
                           "transport:nexthop is Postfix syntax; %s" % grammar,
                           "give the replacement as [host]:port or host")


def postfix_problem(relay):
    """What Postfix's next-hop grammar adds to the common one: an IP address only in brackets (transport(5))."""
    if relay is not None and not relay.bracketed and ip_address(relay.host) is not None:
        return "Postfix takes an IP address only in brackets ([%s]); without them it looks the address up as a " \
               "domain name and defers the mail" % relay.host
    return None


def postfix_nexthop(relay):
    """The next hop as Postfix writes it (postconf(5) relayhost; transport(5))."""
    host = "[%s]" % relay.host if relay.bracketed else relay.host
    return host + (":%s" % relay.port if relay.port else "")


def exim_host(relay):
    """One item of an Exim host list (dc_smarthost, route_list): ``host::port``; IPv6 colons doubled."""
    address = ip_address(relay.host)
    host = relay.host
    if address is not None and address.version == 6:
        host = host.replace(":", "::")
        if relay.port:
            host = "[%s]" % host
    return host + ("::%s" % relay.port if relay.port else "")


def sendmail_host(relay):
    """SMART_HOST / mailertable host: ``[host]`` (no MX lookup, as the bracketed Postfix form); ``[IPv6:addr]``."""
    address = ip_address(relay.host)
    if address is not None and address.version == 6:
        return "[IPv6:%s]" % relay.host
    return "[%s]" % relay.host
