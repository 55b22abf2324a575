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

try:
    import idna
    HAS_IDNA = True
except ImportError:  # only non-ASCII names need it; they are refused with the library's name
    HAS_IDNA = False

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
    if not _ascii(text):
        # A unicode name is checked as the A-label it travels as (to_alabel); what IDNA refuses says why.
        try:
            text = to_alabel(text)
        except ValueError as err:
            return str(err)
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
        if HAS_IDNA and label[:4].lower() == "xn--":
            try:
                idna.ulabel(label.lower())
            except (idna.IDNAError, UnicodeError) as err:
                return "has the label %r, which is no valid A-label (IDNA 2008): %s" % (label, err)
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


def _ascii(text):
    try:
        text.encode("ascii")
    except UnicodeEncodeError:
        return False
    return True


def to_alabel(name):
    """``name`` in the form DNS carries it: every non-ASCII label as its A-label (xn--...), lower case.

    IDNA 2008 with the UTS 46 mapping (non-transitional), as browsers and registrars use it: case folding and
    width mapping first (``BÜCHER。test`` is ``bücher.test``), so what a person types is what they meant.
    ASCII labels pass unchanged (``_dmarc`` is no host name, yet a valid owner name), and a trailing dot is
    kept. Raises ValueError with one line saying why a name is no valid internationalised name.
    """
    text = str(name)
    if _ascii(text):
        return text.lower()
    if not HAS_IDNA:
        raise ValueError("holds non-ASCII characters and the Python library idna is not installed to convert "
                         "it; install idna or give the name's A-label (xn--) form")
    try:
        mapped = idna.uts46_remap(text, std3_rules=False, transitional=False)
    except idna.IDNAError as err:
        raise ValueError("is no valid internationalised domain name (IDNA 2008, UTS 46): %s" % err)
    trailing = mapped.endswith(".")
    labels = mapped[:-1].split(".") if trailing else mapped.split(".")
    out = []
    for label in labels:
        if _ascii(label):
            out.append(label.lower())
            continue
        try:
            out.append(idna.alabel(label).decode("ascii"))
        except (idna.IDNAError, UnicodeError) as err:
            raise ValueError("is no valid internationalised domain name (IDNA 2008, UTS 46): label %r: %s"
                             % (label, err))
    return ".".join(out) + ("." if trailing else "")


def to_unicode(name):
    """``name`` as a person reads it: every A-label (xn--...) decoded; a label that does not decode stays as
    given (a report shows what is there, never fails on it)."""
    text = to_alabel(name) if not _ascii(str(name)) else str(name).lower()
    if "xn--" not in text or not HAS_IDNA:
        return text
    out = []
    for label in text.split("."):
        if label.startswith("xn--"):
            try:
                label = idna.ulabel(label)
            except (idna.IDNAError, UnicodeError):
                pass
        out.append(label)
    return ".".join(out)


def both_forms(name):
    """``'bücher.test (xn--bcher-kva.test)'`` where the two forms differ, else the name as given."""
    try:
        alabel = to_alabel(name).rstrip(".")
    except ValueError:
        return str(name)
    shown = to_unicode(alabel)
    return alabel if shown == alabel else "%s (%s)" % (shown, alabel)
