# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The long tail of DNS hosts (GoDaddy, Namecheap, OVH, Gandi, Hetzner, DigitalOcean...) through dns-lexicon.

Lexicon edits one record at a time and none of its providers offers a guard against a concurrent change. So
every operation starts from a fresh lexicon provider (lexicon providers cache the zone they read): the records
are read again right before the write and compared with what the plan was made from, the replacement is added
before mxHero's record is deleted (a domain never has no MX), exactly mxHero's value is deleted by its record
id, and the name is read once more to verify. The guarantee is ``read_verify``.

The zone is handed to lexicon's provider as given, in lower case (never guessed from the public suffix list,
which lexicon's Client would do).
"""

from __future__ import annotations

import importlib
import re

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import (
    READ_VERIFY, CredentialsRefused, DnsProvider, Libraries, PrerequisiteFailed, ProviderError, RRset, Unreachable,
    ZONE_TYPES, ZoneNotFound, grouped)


# Bound by _import() when the provider is chosen.
requests = ConfigResolver = None


def _import():
    """dns-lexicon, imported on first use (only when ``provider: lexicon`` is chosen)."""
    global requests, ConfigResolver
    import requests
    from lexicon.config import ConfigResolver


# _load() imports them once and says whether they are there (the module reports a missing library).
_load = Libraries(_import)

_NAME = re.compile(r"^[a-z0-9_]+$")
# requests' HTTPError text, which providers that re-raise it keep: "403 Client Error: ... for url: ..."
_STATUS = re.compile(r"\b([45]\d\d) (?:Client|Server) Error\b")
GODADDY_DENIED = ("GoDaddy's API answered 403 ACCESS_DENIED: GoDaddy opens its DNS API only to accounts with 10 or "
                  "more domains or a Premier (Discount Domain Club Premier) plan")
GODADDY_STEPS = ("make the change by hand (provider: manual, dns_host: godaddy gives the exact steps: GoDaddy > My "
                 "Products > {zone} > DNS > DNS Records), or move the zone's DNS to a host with an API")


class AccessDeniedByHost(ProviderError):
    """The host refuses its API to this kind of account: no option of ours can fix that (GoDaddy)."""
    kind = "host"


class LexiconProvider(DnsProvider):
    name = "lexicon"
    guarantee = READ_VERIFY
    library = "dns-lexicon"
    # The provider's own option names, handed to lexicon as given.
    options = dict(
        lexicon_provider=dict(type="str"),
        lexicon_options=dict(type="dict", no_log=True, default={}),
    )
    required = ("lexicon_provider",)

    @classmethod
    def available(cls):
        return _load()

    @classmethod
    def from_params(cls, zone, params, read_only=False, on_secret=None):
        return cls(zone, params["lexicon_provider"], params.get("lexicon_options") or {}, timeout=params["timeout"],
                   on_secret=on_secret)

    def __init__(self, zone, provider, options, timeout=10.0, on_secret=None):
        _load()
        self.on_secret = on_secret
        self.zone_text = validate.domain_of(zone)
        self.zone_fqdn = validate.fqdn(zone)
        self.provider = str(provider or "").strip().lower()
        if not _NAME.match(self.provider):
            raise UnrouteError(self.zone_text, "option lexicon_provider %r" % provider, "not a lexicon provider name",
                               "give a name from 'lexicon --help' (godaddy, namecheap, ovh, gandi, hetzner...)")
        try:
            self.module = importlib.import_module("lexicon._private.providers.%s" % self.provider)
        except ImportError as err:
            missing = getattr(err, "name", "") or ""
            if missing.startswith("lexicon"):
                raise UnrouteError(self.zone_text, "option lexicon_provider %r" % provider,
                                   "dns-lexicon has no provider of that name",
                                   "give a name from 'lexicon --help' (godaddy, namecheap, ovh, gandi, hetzner...)")
            raise UnrouteError(self.zone_text, "option lexicon_provider %r" % provider, "lexicon's %s provider needs "
                               "the Python package %s" % (self.provider, missing),
                               "pip install 'dns-lexicon[%s]'" % self.provider)
        self.options = dict((str(k).replace("-", "_"), v) for k, v in (options or {}).items())
        for value in self.options.values():
            if value is not None:
                self.secret(value)
        self.timeout = timeout
        self.ids = {}

    # -- plumbing --------------------------------------------------------------
    def _session(self, ttl=None):
        """A fresh lexicon provider, authenticated: lexicon providers keep what they read, and a stale copy is
        what would overwrite another writer's record."""
        # Lexicon's providers compare names with str.endswith(domain): an upper-case zone makes every record
        # name "foreign" (apex.ACME.TEST) and the zone reads empty. DNS names compare case-insensitively, so
        # lexicon gets the zone in lower case.
        config = {"provider_name": self.provider, "domain": self.zone_fqdn.rstrip("."),
                  self.provider: dict(self.options)}
        if ttl:
            config["ttl"] = int(ttl)
        client = self.module.Provider(ConfigResolver().with_dict(config))
        self._guard(client.authenticate, "zone %s" % self.zone_text)
        return client

    def _guard(self, func, what, *args):
        return self.attempt(lambda: func(*args), what)

    def classify(self, err, what, write):
        # Lexicon providers raise anything; each becomes one line. The first call of a session is the zone's.
        return self._error(err, what, zone_step=what == "zone %s" % self.zone_text)

    def _error(self, err, what, zone_step):
        # Some lexicon providers wrap the HTTP error in their own exception: the answer is on the cause.
        cause = err
        while cause is not None and getattr(cause, "response", None) is None:
            cause = cause.__cause__ or cause.__context__
        response = getattr(cause, "response", None)
        status = getattr(response, "status_code", None)
        if status is None:
            found = _STATUS.search(str(err))
            status = int(found.group(1)) if found else None
        body = _text(response)
        here = "lexicon's %s provider" % self.provider
        if self.provider == "godaddy" and status == 403:
            return AccessDeniedByHost(self.zone_text, what, GODADDY_DENIED, GODADDY_STEPS.format(zone=self.zone_text))
        if status in (401, 403):
            return CredentialsRefused(self.zone_text, what, "%s: the DNS host refused the credentials (HTTP %d%s)"
                                      % (here, status, self._clean(body)))
        if zone_step and status in (404, 422):
            return ZoneNotFound(self.zone_text, "zone %s" % self.zone_text, "%s: the DNS host has no zone %s "
                                "(HTTP %d%s)" % (here, self.zone_text, status, self._clean(body)))
        if isinstance(err, requests.exceptions.RequestException) and status is None:
            return Unreachable(self.zone_text, what, "%s cannot reach the DNS host: %s"
                               % (here, self._clean(" " + _first(err))))
        if status:
            cause = "HTTP %d%s" % (status, self._clean(body))
        else:
            cause = "%s: %s" % (type(err).__name__, self._clean(_first(err)))
        if zone_step and "domain" in cause.lower() and ("not found" in cause.lower() or "no " in cause.lower()):
            return ZoneNotFound(self.zone_text, "zone %s" % self.zone_text, "%s: the DNS host has no zone %s (%s)"
                                % (here, self.zone_text, cause))
        return ProviderError(self.zone_text, what, "%s failed (%s)" % (here, cause))

    def _clean(self, text):
        text = self.clean(text or "")
        return (": " + text) if text and not text.startswith(":") else text

    def _records(self, client, name, rdtype):
        what = "%s %s" % (name, rdtype)
        records = self._guard(client.list_records, what, rdtype, name.rstrip("."))
        return [r for r in records or [] if str(r.get("type", "")).upper() == rdtype and
                validate.fqdn(str(r.get("name") or "")) == name]

    def _as_rrset(self, name, rdtype, records):
        ids = {}
        for record in records:
            ids.setdefault(_value(rdtype, record), []).append(record.get("id"))
        self.ids[(name, rdtype)] = ids
        if not records:
            return RRset(name, rdtype)
        ttls = [int(r["ttl"]) for r in records if r.get("ttl")]
        return RRset(name, rdtype, min(ttls) if ttls else None, [_value(rdtype, r) for r in records])

    # -- interface -------------------------------------------------------------
    def find_zone(self):
        self._session()

    def read(self, name, rdtype):
        name = validate.fqdn(name)
        return self._as_rrset(name, rdtype, self._records(self._session(), name, rdtype))

    def read_zone(self):
        """Every record lexicon's provider lists (``list_records`` with no type or name: the provider pages
        its service's listing itself)."""
        records = self._guard(self._session().list_records, "zone %s (all records)" % self.zone_text, None, None)
        return grouped((str(r.get("name") or ""), str(r.get("type", "")).upper(),
                        int(r["ttl"]) if r.get("ttl") else None, _value(str(r.get("type", "")).upper(), r))
                       for r in records or [] if str(r.get("type", "")).upper() in ZONE_TYPES)

    def change(self, expected, delete, add, ttl):
        name, rdtype = expected.name, expected.rdtype
        what = "%s %s" % (name, rdtype)
        client = self._session(ttl=expected.ttl or ttl)
        now = self._as_rrset(name, rdtype, self._records(client, name, rdtype))
        if sorted(now.values) != sorted(expected.values):
            raise PrerequisiteFailed("the records changed since they were read")
        ids = self.ids[(name, rdtype)]
        gone = [v for v in delete if v in ids]
        new = [v for v in add if v not in expected.values]
        short = name.rstrip(".")
        if rdtype == "TXT" and len(gone) == 1 and len(new) == 1 and len(ids[gone[0]]) == 1:
            # An SPF rewrite: lexicon's update keeps the record where the host can (no moment without SPF).
            self._guard(client.update_record, what, ids[gone[0]][0], rdtype, short, _content(rdtype, new[0]))
        else:
            for value in new:
                self._guard(client.create_record, what, rdtype, short, _content(rdtype, value))
            for value in gone:
                for record_id in ids[value]:
                    self._guard(client.delete_record, what, record_id, rdtype, short, None)
        wanted = [v for v in expected.values if v not in delete] + new
        after = self._as_rrset(name, rdtype, self._records(self._session(), name, rdtype))
        if sorted(after.values) != sorted(wanted):
            raise UnrouteError(self.zone_text, what, "after the write the records read %s, not what was written "
                               "(%s): someone else wrote them at the same moment, and lexicon's %s provider has no "
                               "guard against that (guarantee read_verify)"
                               % ("; ".join(sorted(after.values)) or "none", "; ".join(sorted(wanted)) or "none",
                                  self.provider), "look at the records at the DNS host and fix them by hand")


def _value(rdtype, record):
    """A lexicon record as a DNS presentation value (what the engine plans with)."""
    content = str(record.get("content") or "").strip()
    if rdtype == "MX":
        parts = content.split()
        if len(parts) == 2 and parts[0].isdigit():
            return "%d %s" % (int(parts[0]), validate.fqdn(parts[1]))
        options = record.get("options") or {}
        pref = (options.get("mx") or {}).get("priority", record.get("priority", record.get("prio", 0)))
        return "%d %s" % (int(pref or 0), validate.fqdn(content))
    if rdtype in ("CNAME", "NS"):
        return validate.fqdn(content)
    if rdtype == "TXT":
        from ansible_collections.mxhero.unroute.plugins.module_utils._dns.cloudflare import _txt_presentation
        # Lexicon hands TXT content as text; a host that keeps several strings shows them with their inner
        # quotes ('a" "b' once the outer ones are stripped).
        if '" "' in content and not content.startswith('"'):
            content = '"%s"' % content
        return _txt_presentation(content)
    return content


def _content(rdtype, value):
    """What lexicon's create/update take as content for a presentation value."""
    if rdtype == "TXT":
        from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import txt_policy
        text = txt_policy(value)
        # Lexicon's convention is the bare text; a text over one string's 255 bytes goes as quoted strings,
        # which hosts that keep strings (PowerDNS, BIND-like) take as they are.
        return text if len(text.encode("utf-8")) <= 255 else value
    return value


def _text(response):
    if response is None:
        return ""
    try:
        return _first(response.text)
    except Exception:  # noqa: B902 - an unreadable body is no body
        return ""


def _first(text):
    lines = str(text).strip().splitlines() or [""]
    return lines[0] if len(lines[0]) <= 300 else lines[0][:300] + "..."
