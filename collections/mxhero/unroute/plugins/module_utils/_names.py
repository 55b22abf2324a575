# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The grammar of DNS names and IP literals, in one place for every platform.

MX exchanges (``_dns/validate.py``) and mail-server relays (``_mta/relay.py``) are both host names: one
definition keeps a value that one refuses from passing the other. No platform code is imported here, so a
module shipped to a mail server carries only this file.
"""

from __future__ import annotations

import ipaddress
import re

# Owner names may carry underscores (_dmarc, selector._domainkey); host names may not (RFC 952/1123).
_OWNER_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$")
_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")


def name_problem(text, host=False, wildcard=False):
    """Why ``text`` is not a usable domain name (owner name, or host name with ``host``), or None."""
    if not isinstance(text, str):
        return "is not a text value"
    if not text.strip() or text.strip() == ".":
        return "is empty"
    if any(c.isspace() for c in text):
        return "contains a space"
    try:
        text.encode("ascii")
    except UnicodeEncodeError:
        return "holds non-ASCII characters; DNS names travel in their A-label (xn--) form"
    labels = text[:-1].split(".") if text.endswith(".") else text.split(".")
    if any(label == "" for label in labels):
        return "has an empty label (a leading dot or two dots in a row)"
    wire = sum(len(label) + 1 for label in labels) + 1
    if wire > 255:
        return "is %d octets long; a DNS name holds at most 255" % wire
    pattern = _HOST_LABEL if host else _OWNER_LABEL
    for index, label in enumerate(labels):
        if len(label) > 63:
            return "has a label of %d characters (%s...); a DNS label holds at most 63" % (len(label), label[:12])
        if wildcard and index == 0 and label == "*":
            continue
        if not pattern.match(label):
            allowed = "letters, digits and inner hyphens" if host else "letters, digits, hyphens and underscores"
            return "has the label %r; a %s label holds %s only" % (label, "host name" if host else "DNS", allowed)
    if host and len(labels) > 1 and labels[-1].isdigit():
        # 192.0.2 or 10.1.1.300: an address gone wrong, never a name (a top-level domain is never all digits).
        return "ends in a numeric label, like an address; a top-level domain is never all digits (RFC 1123 2.1)"
    return None


def ip_address(text):
    """``text`` as an IP address (brackets, an ``ipv6:`` prefix and a trailing dot allowed), or None."""
    candidate = str(text or "").strip().rstrip(".")
    if candidate.startswith("[") and candidate.endswith("]"):
        candidate = candidate[1:-1]
    if candidate.lower().startswith("ipv6:"):
        candidate = candidate[5:]
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None
