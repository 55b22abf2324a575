# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Amazon Route 53 through boto3.

Compare-and-swap: one ChangeBatch that DELETEs the RRset exactly as read (name, type, TTL, every value)
and CREATEs the new one. Route 53 applies a batch all or nothing and refuses a DELETE whose values are
not the current ones (400 InvalidChangeBatch), so a concurrent change makes the batch fail instead of
being overwritten.
"""

from __future__ import annotations

import hashlib
import threading

from ansible.module_utils.basic import env_fallback

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._retry import RetryPolicy, TransientError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import (
    ATOMIC_CAS, CredentialsRefused, DnsProvider, OptionRefused, OutcomeUnknown, PrerequisiteFailed, ProviderError,
    RRset, ZONE_TYPES, ZoneNotFound)

try:
    import boto3
    import botocore.config
    import botocore.exceptions
    import botocore.loaders
    import botocore.session
    HAS_BOTO3 = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_BOTO3 = False

_THROTTLED = ("Throttling", "ThrottlingException", "PriorRequestNotComplete", "RequestLimitExceeded")
_CREDENTIALS = ("InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException", "AccessDenied",
                "AccessDeniedException", "ExpiredToken", "InvalidAccessKeyId", "AuthFailure")


# One boto3 client per account and endpoint for the life of the process: building one loads the service model
# (tens of milliseconds), and an estate run's three DNS modules per domain built one each. Low-level boto3
# clients are thread-safe.
_CLIENTS = {}
_CLIENTS_LOCK = threading.Lock()


def _client(zone_text, access_key, secret_key, session_token, profile, region, endpoint_url, timeout):
    try:
        core = botocore.session.Session()
        core.register_component("data_loader", _loader())
        session = boto3.session.Session(botocore_session=core, aws_access_key_id=access_key or None,
                                        aws_secret_access_key=secret_key or None,
                                        aws_session_token=session_token or None,
                                        profile_name=profile or None)
    except botocore.exceptions.ProfileNotFound:
        raise OptionRefused(zone_text, "option aws_profile %r" % profile,
                            "no such profile in the AWS config files", reason="profile")
    # Our retry policy is the only one: botocore's own retries would hide throttling and double the waits.
    config = botocore.config.Config(retries={"total_max_attempts": 1}, connect_timeout=timeout,
                                    read_timeout=timeout)
    return session.client("route53", region_name=region or "us-east-1", endpoint_url=endpoint_url or None,
                          config=config)


class Route53Provider(DnsProvider):
    name = "route53"
    guarantee = ATOMIC_CAS
    library = "boto3"
    # The names and environment variables of the AWS tools (amazon.aws, the AWS CLI).
    options = dict(
        aws_access_key=dict(type="str", no_log=False,
                            fallback=(env_fallback, ["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"])),
        aws_secret_key=dict(type="str", no_log=True,
                            fallback=(env_fallback, ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"])),
        aws_session_token=dict(type="str", no_log=True,
                               fallback=(env_fallback, ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"])),
        aws_profile=dict(type="str", fallback=(env_fallback, ["AWS_PROFILE"])),
        aws_region=dict(type="str", fallback=(env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION"])),
        aws_endpoint_url=dict(type="str", fallback=(env_fallback, ["AWS_ENDPOINT_URL_ROUTE_53", "AWS_ENDPOINT_URL"])),
        hosted_zone_id=dict(type="str"),
        private_zone=dict(type="bool", default=False),
    )

    @classmethod
    def available(cls):
        return HAS_BOTO3

    @classmethod
    def from_params(cls, zone, params, read_only=False, on_secret=None):
        return cls(zone, access_key=params.get("aws_access_key"), secret_key=params.get("aws_secret_key"),
                   session_token=params.get("aws_session_token"), profile=params.get("aws_profile"),
                   region=params.get("aws_region"), endpoint_url=params.get("aws_endpoint_url"),
                   hosted_zone_id=params.get("hosted_zone_id"), private_zone=params.get("private_zone"),
                   timeout=params["timeout"])

    def __init__(self, zone, access_key=None, secret_key=None, session_token=None, profile=None, region=None,
                 endpoint_url=None, hosted_zone_id=None, private_zone=False, timeout=10.0, retry=None):
        self.zone_text = validate.domain_of(zone)
        self.zone_fqdn = validate.fqdn(zone)
        self.private_zone = bool(private_zone)
        self.zone_id = _zone_id(hosted_zone_id) if hosted_zone_id else None
        self.retry = retry or RetryPolicy()
        # Route 53 throttles per account: the access key (or profile) names it in unroute_budgets.
        label = access_key or (profile and "profile:%s" % profile) or "default"
        self.account = ("route53", "%s %s" % (endpoint_url or "aws", label), label)
        key = (hashlib.sha256(repr((access_key, secret_key, session_token)).encode("utf-8")).hexdigest(), profile,
               region, endpoint_url, timeout)
        with _CLIENTS_LOCK:
            self.client = _CLIENTS.get(key)
        if self.client is None:
            self.client = _client(self.zone_text, access_key, secret_key, session_token, profile, region,
                                  endpoint_url, timeout)
            with _CLIENTS_LOCK:
                _CLIENTS[key] = self.client

    # -- the seam ----------------------------------------------------------------
    def _call(self, op, what, write=False, **kwargs):
        return self.attempt(lambda: getattr(self.client, op)(**kwargs), what, write)

    def classify(self, err, what, write):
        if isinstance(err, botocore.exceptions.ClientError):
            error = err.response.get("Error", {})
            code, message = error.get("Code", ""), error.get("Message", "")
            if code in _THROTTLED:
                return TransientError("Route 53 answered %s" % code, throttled=True)
            if code in _CREDENTIALS or err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 403:
                return CredentialsRefused(self.zone_text, what, "Route 53 refused the credentials (%s: %s)"
                                          % (code, message))
            if code == "NoSuchHostedZone":
                return ZoneNotFound(self.zone_text, "zone %s" % self.zone_text, "Route 53 has no hosted zone %s "
                                    "(%s: %s)" % (self.zone_id or self.zone_text, code, message))
            if write:
                return None  # change() tells a moved RRset from a refused change by reading again
            return ProviderError(self.zone_text, what, "Route 53 refused the request (%s: %s)" % (code, message),
                                 "nothing was changed; check the options against the hosted zone")
        if isinstance(err, botocore.exceptions.NoCredentialsError):
            return CredentialsRefused(self.zone_text, what, "no AWS credentials found")
        if isinstance(err, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError)):
            return TransientError("cannot reach Route 53: %s" % err)
        if isinstance(err, botocore.exceptions.ReadTimeoutError):
            if write:
                return OutcomeUnknown("Route 53 did not answer (%s)" % err)
            return TransientError("Route 53 did not answer: %s" % err)
        if isinstance(err, (botocore.exceptions.ConnectionClosedError, botocore.exceptions.HTTPClientError)):
            if write:
                return OutcomeUnknown("the connection to Route 53 broke before the answer came (%s)" % err)
            return TransientError("the connection to Route 53 broke: %s" % err)
        return None

    # -- interface -------------------------------------------------------------
    def find_zone(self):
        what = "zone %s" % self.zone_text
        if self.zone_id:
            zone_info = self._call("get_hosted_zone", what, Id=self.zone_id)["HostedZone"]
            if zone_info["Name"].lower() != self.zone_fqdn:
                raise OptionRefused(self.zone_text, "option hosted_zone_id %r" % self.zone_id,
                                    "hosted zone %s is %s, not %s" % (self.zone_id, zone_info["Name"], self.zone_fqdn),
                                    reason="hosted_zone_id")
            return
        found = self._call("list_hosted_zones_by_name", what, DNSName=self.zone_fqdn, MaxItems="100")
        zones = [z for z in found.get("HostedZones", []) if z["Name"].lower() == self.zone_fqdn]
        private = [z for z in zones if z.get("Config", {}).get("PrivateZone")]
        candidates = [z for z in zones if bool(z.get("Config", {}).get("PrivateZone")) == self.private_zone]
        if not candidates:
            more = " (only a private one: set private_zone: true to use it)" if private and not self.private_zone else ""
            raise ZoneNotFound(self.zone_text, what, "Route 53 has no %s hosted zone %s in this account%s"
                               % ("private" if self.private_zone else "public", self.zone_text, more),
                               reason="account")
        if len(candidates) > 1:
            raise ZoneNotFound(self.zone_text, what, "Route 53 has %d hosted zones named %s (%s)" % (
                len(candidates), self.zone_text, ", ".join(_zone_id(z["Id"]) for z in candidates)), reason="ambiguous")
        self.zone_id = _zone_id(candidates[0]["Id"])

    def read(self, name, rdtype):
        name = validate.fqdn(name)
        what = "%s %s" % (name, rdtype)
        page = self._call("list_resource_record_sets", what, HostedZoneId=self._zone(), StartRecordName=name,
                          StartRecordType=rdtype, MaxItems="10")
        sets = [s for s in page.get("ResourceRecordSets", [])
                if _unescape(s["Name"]) == name and s["Type"] == rdtype]
        if not sets:
            return RRset(name, rdtype)
        if len(sets) > 1 or any("AliasTarget" in s or "SetIdentifier" in s for s in sets):
            raise UnrouteError(self.zone_text, what, "the record set uses a Route 53 routing policy or alias "
                               "(weighted, latency, failover...), which this module does not edit",
                               "edit it in the Route 53 console; nothing was changed")
        rrset = sets[0]
        return RRset(name, rdtype, rrset.get("TTL"), [r["Value"] for r in rrset.get("ResourceRecords", [])])

    def read_many(self, names, rdtype):
        """Names under one parent (DKIM selectors) in one listing: Route 53 lists record sets ordered by their
        labels reversed, so a parent's children come together."""
        wanted = dict((validate.fqdn(n), n) for n in names)
        parents = set(n.split(".", 1)[1] for n in wanted)
        if len(parents) != 1 or len(wanted) < 3:
            return super(Route53Provider, self).read_many(names, rdtype)
        parent = parents.pop()
        prefix = _reversed(parent) + "."
        found, kwargs = {}, {"StartRecordName": parent}
        while True:
            page = self._call("list_resource_record_sets", "%s %s" % (parent, rdtype), HostedZoneId=self._zone(),
                              MaxItems="300", **kwargs)
            beyond = False
            for rrset in page.get("ResourceRecordSets", []):
                name = _unescape(rrset["Name"])
                key = _reversed(name)
                if key > prefix and not key.startswith(prefix):
                    beyond = True
                    break
                if name in wanted and rrset["Type"] == rdtype:
                    if "AliasTarget" in rrset or "SetIdentifier" in rrset:
                        return super(Route53Provider, self).read_many(names, rdtype)  # read() says why
                    found[name] = RRset(name, rdtype, rrset.get("TTL"),
                                        [r["Value"] for r in rrset.get("ResourceRecords", [])])
            if beyond or not page.get("IsTruncated"):
                break
            kwargs = {"StartRecordName": page["NextRecordName"], "StartRecordType": page["NextRecordType"]}
        return dict((original, found.get(name, RRset(name, rdtype))) for name, original in wanted.items())

    def read_zone(self):
        """Every record set of the hosted zone, 300 a page (ListResourceRecordSets' largest), following
        NextRecordName/NextRecordType. Alias and routing-policy sets are left out: the engine's read of such
        a name says why it is not edited."""
        what = "zone %s (all records)" % self.zone_text
        out, kwargs = [], {}
        while True:
            page = self._call("list_resource_record_sets", what, HostedZoneId=self._zone(), MaxItems="300", **kwargs)
            for rrset in page.get("ResourceRecordSets", []):
                if rrset["Type"] in ZONE_TYPES and "AliasTarget" not in rrset:
                    out.append(RRset(_unescape(rrset["Name"]), rrset["Type"], rrset.get("TTL"),
                                     [r["Value"] for r in rrset.get("ResourceRecords", [])]))
            if not page.get("IsTruncated"):
                return out
            kwargs = {"StartRecordName": page["NextRecordName"], "StartRecordType": page["NextRecordType"]}
            if page.get("NextRecordIdentifier"):
                kwargs["StartRecordIdentifier"] = page["NextRecordIdentifier"]

    def change(self, expected, delete, add, ttl):
        name, rdtype = expected.name, expected.rdtype
        wanted = [v for v in expected.values if v not in delete] + [v for v in add if v not in expected.values]
        changes = []
        if expected.values:
            changes.append({"Action": "DELETE", "ResourceRecordSet": {
                "Name": name, "Type": rdtype, "TTL": expected.ttl,
                "ResourceRecords": [{"Value": v} for v in expected.values]}})
        if wanted:
            changes.append({"Action": "CREATE", "ResourceRecordSet": {
                "Name": name, "Type": rdtype, "TTL": expected.ttl or ttl,
                "ResourceRecords": [{"Value": v} for v in wanted]}})
        what = "%s %s" % (name, rdtype)
        try:
            self._call("change_resource_record_sets", what, write=True, HostedZoneId=self._zone(),
                       ChangeBatch={"Comment": "mxhero.unroute", "Changes": changes})
        except botocore.exceptions.ClientError as err:
            # A refused batch changed nothing. Whether it was refused because the RRset moved is told by a
            # fresh read, never by the message text alone.
            now = self.read(name, rdtype)
            if sorted(now.values) != sorted(expected.values) or now.ttl != expected.ttl:
                raise PrerequisiteFailed(str(err))
            error = err.response.get("Error", {})
            raise UnrouteError(self.zone_text, what, "Route 53 refused the change (%s: %s); nothing was changed"
                               % (error.get("Code"), error.get("Message")),
                               "look at the record set in the Route 53 console")


_LOADER = []


def _loader():
    """One botocore model loader per process: loading Route 53's service model is most of a client's
    start-up (about 70 ms), and the loader only caches read-only JSON, so sessions may share it."""
    if not _LOADER:
        loader = botocore.loaders.create_loader()
        for kind in ("service-2", "endpoint-rule-set-1"):
            try:
                loader.load_service_model("route53", kind)
            except Exception:  # noqa: B902 - only a warm-up; the client loads what it needs itself
                pass
        _LOADER.append(loader)
    return _LOADER[0]


if HAS_BOTO3:
    _loader()


def _reversed(name):
    return ".".join(reversed(name.rstrip(".").split(".")))


def _zone_id(value):
    return str(value).strip().rsplit("/", 1)[-1]


def _unescape(name):
    # Route 53 returns names in lower case with octal escapes for characters outside [a-z0-9-_.] ('*' is \052).
    out, i = [], 0
    while i < len(name):
        if name[i] == "\\" and name[i + 1:i + 4].isdigit():
            out.append(chr(int(name[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(name[i])
            i += 1
    return "".join(out).lower().rstrip(".") + "."
