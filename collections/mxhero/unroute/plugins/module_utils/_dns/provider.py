# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the DNS engine needs from a DNS provider (RFC 2136, and the hosted APIs: Route 53, Cloudflare, PowerDNS,
Azure DNS, Google Cloud DNS, dns-lexicon).

Values travel in DNS presentation format (``10 mx.example.``, ``"v=spf1" " -all"``)
so that a hosted API adapter can map them to its own JSON without knowing dnspython.
"""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError, scrub
from ansible_collections.mxhero.unroute.plugins.module_utils import _budget
from ansible_collections.mxhero.unroute.plugins.module_utils._retry import (
    RetryExhausted, RetryPolicy, TransientError, attempt)
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate


class RRset(object):
    def __init__(self, name, rdtype, ttl=None, values=None):
        self.name = name
        self.rdtype = rdtype
        self.ttl = ttl
        self.values = list(values or [])

    def as_dict(self):
        return {"record": self.name, "type": self.rdtype, "ttl": self.ttl, "values": sorted(self.values)}


# What a whole-zone read keeps: mail routing (MX), SPF (TXT), DKIM delegations (CNAME) and zone cuts (NS).
ZONE_TYPES = ("MX", "TXT", "CNAME", "NS")


class ZoneListRefused(Exception):
    """The service will not hand out the whole zone (a server that refuses AXFR, a provider with no list call):
    the engine falls back to the named records and says so in a finding. The text is in the service's terms."""


class PrerequisiteFailed(Exception):
    """The RRset is no longer what was read: someone changed it between our read and our write."""


class OutcomeUnknown(Exception):
    """An update was sent and its answer never came (timeout, connection lost): it may or may not have
    taken effect. Never re-sent blindly: the engine reads the RRset again to find out."""


class ProviderError(UnrouteError):
    """A provider's failure by kind. The provider says what failed and why in its service's terms; which of the
    user's options to check is worded once, by the module layer (``module.explain``), per provider, kind and
    ``reason``. A provider gives ``fix`` itself only for a situation no option fixes, or one only it can word
    (the zone a name lies in); the module layer keeps such a fix."""

    kind = "refused"

    def __init__(self, domain, obj, cause, fix=None, partial=None, reason=None, about=None):
        # ``reason`` tells apart situations of one kind whose fix differs (two zones of one name: which to use);
        # ``about`` holds what the fix's words need that only the provider knows (the project the key names).
        self.reason = reason
        self.about = dict(about or {})
        super(ProviderError, self).__init__(domain, obj, cause, fix, partial)


class OptionRefused(ProviderError):
    """An option's value is wrong for the service (a profile it does not know, an id of another zone)."""
    kind = "option"


class CredentialsRefused(ProviderError):
    """The service refused or could not find the credentials."""
    kind = "credentials"


class AccessDenied(ProviderError):
    """The credentials are good but may not touch the zone."""
    kind = "access"


class ZoneNotFound(ProviderError):
    """The service holds no zone of that name (for these credentials, in that account or group)."""
    kind = "zone"


class Unreachable(ProviderError):
    """The service did not answer within the retry policy (the cause says how many attempts, how long)."""
    kind = "unreachable"


class NotLoaded(Exception):
    """Stands for a library's exception class until the provider's libraries are imported (never raised)."""


class Libraries(object):
    """A provider's third-party libraries, imported on first use: calling it runs ``importer`` once and says
    whether the import worked (the module layer turns False into missing_required_lib)."""

    def __init__(self, importer):
        self.importer = importer
        self.present = None

    def __call__(self):
        if self.present is None:
            try:
                self.importer()
                self.present = True
            except ImportError:
                self.present = False
        return self.present


# What a provider's write promises when someone else changes the RRset between our read and our write.
ATOMIC_CAS = "atomic_cas"    # the service refuses the write (RFC 2136 prerequisite, Route 53 ChangeBatch DELETE)
READ_VERIFY = "read_verify"  # no version token: compared just before the write and verified after it


class DnsProvider(object):
    """Interface. Every implementation is the only code that talks to its service.

    Providers know records, zones and their service's errors; nothing about mxHero.
    """

    name = "provider"
    guarantee = ATOMIC_CAS
    # The module options this provider reads (an argument spec fragment, merged into the DNS modules' spec) and
    # those ``provider: <name>`` makes required.
    options = {}
    required = ()
    # What to install when ``available()`` is false (Ansible's missing_required_lib wording).
    library = None
    # Set by attempt(): the policy is one per provider object, so a test can give a fast one.
    retry = None
    # The account the provider's calls spend: (budget kind, credential identity, label in unroute_budgets), set
    # by the provider from its credentials; None for a server of one's own (RFC 2136, PowerDNS), which has no
    # vendor limit. ``budget`` may be given instead (a test, an engine's registry).
    account = None
    budget = None

    @classmethod
    def available(cls):
        """Whether the provider's libraries import. A provider with heavy libraries imports them here, on
        first use, so only the chosen provider's are loaded."""
        return True

    @classmethod
    def check(cls, zone, params):
        """Refuse this provider's options the user mistyped (one line naming the option), before any traffic."""
        return None

    @classmethod
    def from_params(cls, zone, params, read_only=False, on_secret=None):
        """The provider for the DNS modules' validated parameters; ``on_secret`` is the module's ctx.secret."""
        raise NotImplementedError

    @classmethod
    def steps_for(cls, zone, params):
        """``(finding, part) -> text`` when a person makes the change instead (provider manual); None here."""
        return None

    # What a primary DNS server the change went to is called, for verify: None when the provider is an API.
    @property
    def primary(self):
        return None

    # -- secrets -------------------------------------------------------------------
    def secret(self, value):
        """A credential given or found at run time (a key file's private key): handed to the module's
        ``ctx.secret`` (``on_secret``, given by the module layer) so no output shows it, and kept here so
        that this provider's own errors never quote it either."""
        if value:
            vars(self).setdefault("secrets", set()).add(str(value))
            on_secret = vars(self).get("on_secret")
            if on_secret:
                on_secret(str(value))

    def clean(self, text):
        """A service's text as it may be shown: one line, no secret."""
        lines = scrub(text, vars(self).get("secrets")).strip().splitlines() or [""]
        return lines[0] if len(lines[0]) <= 300 else lines[0][:300] + "..."

    # -- the one attempt/classify seam --------------------------------------------------
    def classify(self, err, what, write):
        """What a failure of one call means: an exception to raise (TransientError is retried, OutcomeUnknown
        and PrerequisiteFailed go to the engine, a ProviderError to the user), or None to let it through."""
        return None

    def spending(self):
        """The account's Budget (_budget.py), or None when the provider spends no vendor's budget."""
        if self.budget is None and self.account:
            kind, identity, label = self.account
            self.budget = _budget.budget_for(kind, identity, label=label)
        return self.budget

    def attempt(self, func, what, write=False, policy=None):
        """``func()`` under the retry policy, every failure classified by ``classify``; what stays transient
        after the last attempt is Unreachable. Each try first takes its request from the account's budget; a
        throttling answer slows the whole account, not just this call."""
        budget = self.spending()

        def spend():
            if budget is not None:
                budget.acquire(write=write)
            try:
                return func()
            except TransientError as err:
                if budget is not None and err.throttled:
                    budget.penalise(err.retry_after)
                raise

        def verdict(err):
            if isinstance(err, _DECIDED):
                return None
            found = self.classify(err, what, write)
            if budget is not None and isinstance(found, TransientError) and found.throttled:
                budget.penalise(found.retry_after)
            return found
        try:
            return attempt(spend if budget is not None else func, verdict, policy or self.retry or _ONCE)
        except RetryExhausted as err:
            raise Unreachable(self.zone_text, what, str(err))

    def check_zone(self, zone=None):
        """Raise UnrouteError unless the service serves the provider's zone authoritatively. A provider is
        built for one zone; ``zone``, when given, must be that zone (a caller that means another zone has a
        bug, which must not pass as a check of the wrong zone)."""
        if zone is not None and validate.fqdn(zone) != self.zone_fqdn:
            raise ValueError("this %s provider serves zone %s, not %s" % (self.name, self.zone_fqdn, zone))
        return self.find_zone()

    def find_zone(self):
        """Look the zone up at the service (and keep whatever id later calls need, as ``zone_id``)."""
        raise NotImplementedError

    zone_id = None

    def _zone(self):
        """The service's id of the zone, looked up on first use."""
        if not self.zone_id:
            self.find_zone()
        return self.zone_id

    def find_cut(self, name):
        """The zone apex below ``zone`` at or above ``name`` where a delegation starts, or None.

        An API provider holds the delegation as an NS RRset inside the zone, so reading NS at each name
        between the apex and ``name`` finds it."""
        zone = self.zone_fqdn
        labels = name.lower().rstrip(".").split(".")
        depth = len(zone.rstrip(".").split("."))
        for cut in range(depth + 1, len(labels) + 1):
            below = ".".join(labels[-cut:]) + "."
            if self.read(below, "NS").values:
                return below
        return None

    def read(self, name, rdtype):
        """The current RRset (empty ``values`` when there is none)."""
        raise NotImplementedError

    def read_many(self, names, rdtype):
        """{name: RRset} for several names of one type. An API provider overrides it to read them in one
        listing (DKIM selectors sit side by side under ``_domainkey``) where each call is a round trip."""
        return dict((name, self.read(name, rdtype)) for name in names)

    def read_zone(self):
        """Every RRset of ``ZONE_TYPES`` in the zone, in one pass (every page of the service's listing), as a
        list of RRset. Raises ZoneListRefused when the service will not list the zone; the engine then reads
        only the named records."""
        raise ZoneListRefused("the %s provider cannot list a zone" % self.name)

    def change(self, expected, delete, add, ttl):
        """Delete ``delete`` values and add ``add`` values of ``expected``'s name/type, atomically,
        only if the RRset still equals ``expected``; raise PrerequisiteFailed otherwise, and
        OutcomeUnknown when the update left but no answer came back."""
        raise NotImplementedError


def grouped(records):
    """RRsets of ``ZONE_TYPES`` from records a service lists one by one, as (name, type, ttl, value): each
    name and type once, with the smallest TTL (what resolvers see first)."""
    out = {}
    for name, rdtype, ttl, value in records:
        if rdtype not in ZONE_TYPES:
            continue
        key = (validate.fqdn(name), rdtype)
        rrset = out.setdefault(key, RRset(key[0], rdtype, ttl))
        if ttl is not None and (rrset.ttl is None or ttl < rrset.ttl):
            rrset.ttl = ttl
        if value not in rrset.values:
            rrset.values.append(value)
    return list(out.values())


_ONCE = RetryPolicy(attempts=1)
# Already what the engine or the user is to see: never classified again.
_DECIDED = (UnrouteError, PrerequisiteFailed, OutcomeUnknown)
