# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  zone:
    description:
      - The DNS zone (domain) to work on, for example V(example.com).
    type: str
    required: true
  record:
    description:
      - Fully qualified owner name inside O(zone) to work on.
      - Defaults to the zone apex.
    type: str
  server:
    description:
      - Name server to send queries and RFC 2136 updates to (address or host name).
      - Defaults to the zone's primary, the SOA MNAME found with the system resolver.
    type: str
  port:
    description:
      - Port of O(server).
    type: int
    default: 53
  key_name:
    description:
      - Name of the TSIG key used to sign queries and updates.
    type: str
  key_secret:
    description:
      - Base64 secret of the TSIG key O(key_name).
    type: str
  key_algorithm:
    description:
      - TSIG algorithm of the key. BIND's C(tsig-keygen) makes hmac-sha256 keys.
    type: str
    default: hmac-sha256
    choices: [hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512]
  protocol:
    description:
      - Transport for queries and updates.
    type: str
    default: tcp
    choices: [tcp, udp]
  timeout:
    description:
      - Seconds to wait for each answer from O(server).
    type: float
    default: 10
requirements:
  - dnspython >= 2.6
"""
