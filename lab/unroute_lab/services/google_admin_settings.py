"""The legacy Admin Settings API's ``email/gateway`` resource (GData Atom) for the emulated Google Workspace.

``GET/PUT /a/feeds/domain/2.0/{domain}/email/gateway``: an Atom entry with ``apps:property`` smartHost and
smtpMode. Google turned the API off on 2018-10-31; a customer with ``admin_settings_api: false`` answers as
a retired feed would (the lab's assumption: 404).
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from urllib.parse import unquote

SCOPE_ADMIN_SETTINGS = "https://apps-apis.google.com/a/feeds/domain/"
ATOM = "http://www.w3.org/2005/Atom"
APPS = "http://schemas.google.com/apps/2006"
PREFIX = "/a/feeds/domain/2.0/"
SMTP_MODES = ("SMTP", "SMTP_TLS")


def route(path):
    """The domain named in a gateway path, or None."""
    if path.startswith(PREFIX) and path.endswith("/email/gateway"):
        return unquote(path[len(PREFIX):-len("/email/gateway")])
    return None


class LegacyError(Exception):
    def __init__(self, code, text, xml=False):
        super().__init__(text)
        self.code = code
        self.text = text
        self.xml = xml


def _apps_error(code, invalid, reason):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<AppsForYourDomainErrors>\n  <error errorCode="%s" '
            'invalidInput="%s" reason="%s" />\n</AppsForYourDomainErrors>\n' % (code, invalid, reason))


def customer_of(svc, header, domain):
    grant = svc.tokens.lookup(header)
    if grant is None:
        raise LegacyError(401, "Token invalid - Invalid token: Token not found")
    if SCOPE_ADMIN_SETTINGS not in grant["scopes"]:
        raise LegacyError(403, "Token invalid - AuthSub token has wrong scope")
    customer = svc.by_domain(domain)
    if customer is not None and not customer["admin_settings_api"]:
        # What a retired GData feed answers is not documented; a plain 404 is the lab's assumption.
        raise LegacyError(404, "Not Found")
    if customer is None or customer["id"] != grant["customer"]:
        raise LegacyError(403, "You are not authorized to access this API")
    if grant["email"] not in customer["super_admins"]:
        raise LegacyError(403, "You are not authorized to access this API")
    return customer

def entry(svc, customer):
    href = "%sa/feeds/domain/2.0/%s/email/gateway" % (svc.base_url, customer["domain"])
    entry = ET.Element("{%s}entry" % ATOM)
    ET.SubElement(entry, "{%s}id" % ATOM).text = href
    ET.SubElement(entry, "{%s}updated" % ATOM).text = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    ET.SubElement(entry, "{%s}link" % ATOM, rel="self", type="application/atom+xml", href=href)
    ET.SubElement(entry, "{%s}link" % ATOM, rel="edit", type="application/atom+xml", href=href)
    for key in ("smartHost", "smtpMode"):
        ET.SubElement(entry, "{%s}property" % APPS, name=key, value=customer["gateway"][key])
    return b"<?xml version='1.0' encoding='UTF-8'?>" + ET.tostring(entry)

def put(svc, customer, data):
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        raise LegacyError(400, "Content is not allowed in prolog.")
    props = {p.get("name"): p.get("value") for p in root.iter("{%s}property" % APPS)}
    if "smartHost" not in props or "smtpMode" not in props:
        raise LegacyError(400, _apps_error("1801", "", "InvalidValue"), xml=True)
    if props["smtpMode"] not in SMTP_MODES:
        raise LegacyError(400, _apps_error("1801", props["smtpMode"], "InvalidValue"), xml=True)
    with svc.lock:
        customer["gateway"] = {"smartHost": props["smartHost"], "smtpMode": props["smtpMode"]}
