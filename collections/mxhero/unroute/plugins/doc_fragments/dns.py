# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  zone:
    description:
      - The DNS zone (domain) to work on, for example V(example.com).
      - Checked before any DNS traffic (empty labels, spaces, labels over 63 and names over 255 octets are
        refused); the server must answer authoritatively for it.
    type: str
    required: true
  record:
    description:
      - Fully qualified owner name inside O(zone) to work on.
      - Defaults to the zone apex.
      - A name below a zone cut (a sub-zone delegated with NS records) is refused, naming the child zone to
        give as O(zone) instead.
    type: str
  server:
    description:
      - Name server to send queries and RFC 2136 updates to (address or host name).
      - A host name is resolved with the system resolver before anything else; one that does not resolve is
        refused. With several addresses, TCP uses the first that accepts a connection, UDP the first.
      - Defaults to the zone's primary, the SOA MNAME found with the system resolver.
    type: str
  port:
    description:
      - Port of O(server), 1 to 65535.
    type: int
    default: 53
  key_name:
    description:
      - Name of the TSIG key used to sign queries and updates.
    type: str
  key_secret:
    description:
      - Base64 secret of the TSIG key O(key_name). Required with O(key_name); refused when not base64.
    type: str
  key_algorithm:
    description:
      - TSIG algorithm of the key. BIND's C(tsig-keygen) makes hmac-sha256 keys.
      - One of V(hmac-md5), V(hmac-sha1), V(hmac-sha224), V(hmac-sha256), V(hmac-sha384), V(hmac-sha512)
        (case does not matter); anything else is refused, naming the domain, before any DNS traffic.
    type: str
    default: hmac-sha256
  protocol:
    description:
      - Transport for queries and updates.
    type: str
    default: tcp
    choices: [tcp, udp]
  timeout:
    description:
      - Seconds to wait for each answer from O(server); above 0.
      - An update whose answer does not come within this time is not re-sent; the RRset is read again to
        tell whether it took effect.
    type: float
    default: 10
requirements:
  - dnspython >= 2.6
"""
