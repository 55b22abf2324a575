# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option checks that run before anything is read or written, the same in check mode and real runs.

A typo in an inventory variable must end in one line that names the domain, the option, the bad value and
the fix - never in a record written to the zone (an IP address or '.' as MX exchange) nor in a library's
raw message half-way through a domain.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import socket

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._names import ip_address, name_problem, to_alabel

ALGORITHMS = ("hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512")
_ZONE_FIX = "give the zone's domain name, for example example.com"


def domain_of(zone):
    text = str(zone or "").strip().rstrip(".")
    return text or "(no zone)"


def alabel_or_same(name):
    """``name`` as its A-label when it converts; as given otherwise, so that the check refuses it in one line."""
    if not isinstance(name, str):
        return name
    try:
        return to_alabel(name.strip())
    except ValueError:
        return name


def normalise(params):
    """The DNS modules' name options in the form DNS carries them (bücher.test -> xn--bcher-kva.test): a
    unicode name is what a person types into dig, nsupdate or a provider console, which convert it too."""
    out = dict(params)
    for key in ("zone", "record"):
        if isinstance(out.get(key), str):
            out[key] = alabel_or_same(out[key])
    if isinstance(out.get("records"), list):
        out["records"] = [alabel_or_same(item) for item in out["records"]]
    return out


def refuse(zone, option, value, cause, fix, secret=False):
    if secret:
        shown = "(hidden)" if value else "(empty)"
    else:
        shown = repr(value)
    return UnrouteError(domain_of(zone), "option %s %s" % (option, shown), cause, fix)


def fqdn(name):
    return alabel_or_same(name.strip()).rstrip(".").lower() + "."


def check_zone(zone):
    problem = name_problem(zone)
    if problem:
        raise refuse(zone, "zone", zone, "the zone name %s" % problem, _ZONE_FIX)
    return fqdn(zone)


def check_record(zone, option, record):
    """The absolute owner name of ``record`` (None: the apex), refused unless it lies inside ``zone``."""
    zone_fq = fqdn(zone)
    if record is None:
        return zone_fq
    problem = name_problem(record, wildcard=True)
    if problem:
        raise refuse(zone, option, record, "the record name %s" % problem,
                     "give a fully qualified name inside zone %s, e.g. www.%s" % (domain_of(zone), domain_of(zone)))
    name = fqdn(record)
    if name != zone_fq and not name.endswith("." + zone_fq):
        raise refuse(zone, option, record, "the record is not inside zone %s" % domain_of(zone),
                     "give a fully qualified name inside the zone (for example mail.%s), or work on the zone that "
                     "holds it" % domain_of(zone))
    return name


def check_records(zone, record=None, records=None):
    """Owner names to work on, in order, without repeats; all checked before any is used."""
    if records is None:
        return [check_record(zone, "record", record)]
    if not records:
        raise refuse(zone, "records", records, "the list is empty", "list at least the zone apex, or omit records")
    names = []
    for index, item in enumerate(records):
        name = check_record(zone, "records[%d]" % index, item)
        if name not in names:
            names.append(name)
    return names


def check_replacement(zone, replacement, fingerprint):
    for index, item in enumerate(replacement or []):
        where = "replacement[%d]" % index
        if not isinstance(item, dict):
            raise refuse(zone, where, item, "the item is not a mapping",
                         "give each replacement as {preference: 10, exchange: mail.example.com}")
        check_preference(zone, where + ".preference", item.get("preference"))
        check_exchange(zone, where + ".exchange", item.get("exchange"), fingerprint)


def check_preference(zone, option, value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise refuse(zone, option, value, "an MX preference is a whole number from 0 to 65535 (RFC 1035 3.3.9)",
                     "give a preference such as 10; lower is tried first")


def check_exchange(zone, option, value, fingerprint=None):
    fix = "give the host name of the domain's mail service, for example smtp.google.com"
    text = value.strip() if isinstance(value, str) else value
    if text in (None, "", "."):
        raise refuse(zone, option, value, "an empty exchange writes the null MX '.' (RFC 7505): the domain would "
                     "accept no mail at all", fix)
    if _ip_literal(text):
        raise refuse(zone, option, value, "an MX exchange must be a host name, not an IP address (RFC 5321 5.1; "
                     "most senders refuse an address there)", fix + ", whose A/AAAA record holds that address")
    problem = name_problem(text, host=True)
    if problem:
        raise refuse(zone, option, value, "the exchange %s" % problem, fix)
    labels = text.rstrip(".").split(".")
    if len(labels) < 2:
        raise refuse(zone, option, value, "the exchange is a single label, which would be written as the "
                     "top-level name '%s.'" % labels[0], fix)
    if fingerprint is not None and fingerprint.host(text):
        raise refuse(zone, option, value, "a replacement MX may not itself be an mxHero host",
                     "give the domain's real mail service as replacement")


def _ip_literal(text):
    return ip_address(text) is not None


def check_port(zone, port):
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise refuse(zone, "port", port, "a port is a number from 1 to 65535",
                     "give the name server's port, usually 53")
    return port


def check_timeout(zone, timeout):
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise refuse(zone, "timeout", timeout, "the timeout must be a number of seconds above 0",
                     "give for example 10")
    return value


def check_server(zone, server, port):
    """The addresses to talk to for ``server`` (None: not given), resolving a host name now.

    dnspython sends to addresses only; a host name that does not resolve must be refused here, naming the
    option, not surface later as a bare socket error.
    """
    if server is None or (isinstance(server, str) and not server.strip()):
        return None
    text = server.strip()
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return [str(ipaddress.ip_address(candidate))]
    except ValueError:
        pass
    problem = name_problem(text, host=True)
    if problem:
        raise refuse(zone, "server", server, "the server %s" % problem,
                     "give the name server's IP address or host name")
    try:
        infos = socket.getaddrinfo(text.rstrip("."), port, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as err:
        raise refuse(zone, "server", server, "the system resolver cannot resolve this host name (%s)"
                     % (getattr(err, "strerror", None) or err),
                     "give the name server's IP address, or a host name this machine resolves")
    addresses = []
    for info in infos:
        address = info[4][0]
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise refuse(zone, "server", server, "the system resolver has no address for this host name",
                     "give the name server's IP address")
    return addresses


def check_key(zone, key_name, key_secret, key_algorithm):
    """Refuse a key that cannot work; the algorithm is checked even without a key (a typo is still a typo)."""
    if str(key_algorithm or "").lower() not in ALGORITHMS:
        raise refuse(zone, "key_algorithm", key_algorithm, "this is not a TSIG algorithm",
                     "give one of %s (the key statement's algorithm)" % ", ".join(ALGORITHMS))
    if key_name and not key_secret:
        raise refuse(zone, "key_secret", key_secret, "no secret is given while key_name %r is set" % key_name,
                     "give the base64 secret of the server's key statement, or drop key_name for unsigned "
                     "updates", secret=True)
    if key_secret and not key_name:
        raise refuse(zone, "key_name", key_name, "no key name is given while key_secret is set",
                     "give the name of the server's key statement, e.g. unroute")
    if not key_name:
        return
    problem = name_problem(key_name)
    if problem:
        raise refuse(zone, "key_name", key_name, "the key name %s" % problem,
                     "give the name exactly as in the server's key statement")
    try:
        decoded = base64.b64decode("".join(str(key_secret).split()), validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if not decoded:
        raise refuse(zone, "key_secret", key_secret, "the secret is not valid base64",
                     "give the secret exactly as in the server's key statement", secret=True)


def check_selectors(zone, selectors):
    for index, selector in enumerate(selectors or []):
        problem = name_problem(selector)
        if problem or str(selector).endswith("."):
            raise refuse(zone, "dkim_selectors[%d]" % index, selector,
                         "the selector %s" % (problem or "is absolute; a selector is relative to _domainkey"),
                         "give the selector as it appears before ._domainkey, e.g. selector1")


def check_cloud(zone, cloud):
    """``azure_cloud`` names one of Azure's clouds (azure.azcollection's names or the short forms)."""
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns.azure import cloud_endpoints
    if cloud_endpoints(cloud) is None:
        raise refuse(zone, "azure_cloud", cloud, "not an Azure cloud",
                     "give AzureCloud (public), AzureChinaCloud (china) or AzureUSGovernment (usgov); for another "
                     "endpoint set azure_authority_host and azure_resource_manager_url")
