# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure DNS through azure-mgmt-dns and azure-identity.

Compare-and-swap: every record set carries an ``etag``; a write sends ``If-Match: <etag as read>`` (a new set
``If-None-Match: *``) and Azure answers 412 Precondition Failed when the set changed since. The provider turns
that into PrerequisiteFailed, so the engine re-reads and re-plans instead of overwriting (Ansible's
azure_rm_dnsrecordset sends no If-Match; we do).
"""

from __future__ import annotations

import hashlib
import threading
import time

from ansible.module_utils.basic import env_fallback

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._retry import RetryPolicy, TransientError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import (
    ATOMIC_CAS, AccessDenied, CredentialsRefused, DnsProvider, Libraries, NotLoaded, OutcomeUnknown, PrerequisiteFailed,
    ProviderError, RRset, ZONE_TYPES, ZoneNotFound)


# Bound by _import() when the provider is chosen.
ClientAuthenticationError = HttpResponseError = ServiceRequestError = ServiceResponseError = NotLoaded
CertificateCredential = ClientSecretCredential = DefaultAzureCredential = DnsManagementClient = dns_models = None


def _import():
    """The Azure SDK, imported on first use (only when ``provider: azure`` is chosen): it is large."""
    global ClientAuthenticationError, HttpResponseError, ServiceRequestError, ServiceResponseError
    global CertificateCredential, ClientSecretCredential, DefaultAzureCredential, DnsManagementClient, dns_models
    from azure.core.exceptions import (ClientAuthenticationError, HttpResponseError, ServiceRequestError,
                                       ServiceResponseError)
    from azure.identity import CertificateCredential, ClientSecretCredential, DefaultAzureCredential
    from azure.mgmt.dns import DnsManagementClient
    from azure.mgmt.dns import models as dns_models


# _load() imports them once and says whether they are there (the module reports a missing library).
_load = Libraries(_import)

# azure.azcollection's cloud_environment names, and the short forms; (authority host, Resource Manager URL).
CLOUDS = {
    "azurecloud": ("https://login.microsoftonline.com", "https://management.azure.com"),
    "azurechinacloud": ("https://login.chinacloudapi.cn", "https://management.chinacloudapi.cn"),
    "azureusgovernment": ("https://login.microsoftonline.us", "https://management.usgovcloudapi.net"),
}
ALIASES = {"public": "azurecloud", "china": "azurechinacloud", "usgov": "azureusgovernment",
           "usgovernment": "azureusgovernment"}


def cloud_endpoints(cloud):
    """(authority host, Resource Manager URL) of an ``azure_cloud`` value, or None when it names no cloud."""
    key = str(cloud or "public").strip().lower().replace("_", "").replace(" ", "")
    return CLOUDS.get(ALIASES.get(key, key))


_CLIENTS = {}
_CLIENTS_LOCK = threading.Lock()
# The zones a subscription holds (name -> resource groups), listed once per principal for a while: without
# unroute_dns_azure_resource_group every module call listed the whole subscription, which for an MSP's thousand
# zones is pages of reads per call against the 25-reads-per-second budget. A zone missing from a kept listing
# is listed again before it is called missing.
_LISTINGS = {}
_LISTING_TTL = 300.0


def _client(authority, arm_url, arm, subscription_id, tenant_id, client_id, client_secret, certificate_path,
            certificate_password, common):
    known = authority in [c[0] for c in CLOUDS.values()]
    cred_args = dict(common, authority=authority, disable_instance_discovery=not known)
    if client_id and client_secret:
        credential = ClientSecretCredential(tenant_id or "organizations", client_id, client_secret, **cred_args)
    elif client_id and certificate_path:
        credential = CertificateCredential(tenant_id or "organizations", client_id, certificate_path,
                                           password=certificate_password or None, **cred_args)
    else:
        credential = DefaultAzureCredential(exclude_interactive_browser_credential=True, **cred_args)
    client = DnsManagementClient(credential, subscription_id, base_url=arm_url,
                                 credential_scopes=[arm.rstrip("/") + "/.default"], **common)
    return credential, client


class AzureDnsProvider(DnsProvider):
    name = "azure"
    guarantee = ATOMIC_CAS
    library = "azure-mgmt-dns and azure-identity"
    # azure.azcollection's environment variables first, then azure-identity's.
    options = dict(
        azure_subscription_id=dict(type="str", fallback=(env_fallback, ["AZURE_SUBSCRIPTION_ID"])),
        azure_resource_group=dict(type="str"),
        azure_tenant_id=dict(type="str", fallback=(env_fallback, ["AZURE_TENANT", "AZURE_TENANT_ID"])),
        azure_client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
        azure_client_secret=dict(type="str", no_log=True,
                                 fallback=(env_fallback, ["AZURE_SECRET", "AZURE_CLIENT_SECRET"])),
        azure_client_certificate_path=dict(type="path", fallback=(
            env_fallback, ["AZURE_X509_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PATH"])),
        azure_client_certificate_password=dict(type="str", no_log=True, fallback=(
            env_fallback, ["AZURE_CLIENT_CERTIFICATE_PASSWORD"])),
        # No `choices`: a typo must fail with the domain named (validate.check_cloud).
        azure_cloud=dict(type="str", default="AzureCloud", fallback=(env_fallback, ["AZURE_CLOUD_ENVIRONMENT"])),
        azure_authority_host=dict(type="str", fallback=(env_fallback, ["AZURE_AUTHORITY_HOST"])),
        azure_resource_manager_url=dict(type="str"),
    )
    required = ("azure_subscription_id",)

    @classmethod
    def available(cls):
        return _load()

    @classmethod
    def check(cls, zone, params):
        validate.check_cloud(zone, params.get("azure_cloud"))

    @classmethod
    def from_params(cls, zone, params, read_only=False, on_secret=None):
        return cls(zone, params["azure_subscription_id"], resource_group=params.get("azure_resource_group"),
                   tenant_id=params.get("azure_tenant_id"), client_id=params.get("azure_client_id"),
                   client_secret=params.get("azure_client_secret"),
                   certificate_path=params.get("azure_client_certificate_path"),
                   certificate_password=params.get("azure_client_certificate_password"),
                   cloud=params.get("azure_cloud"), authority_host=params.get("azure_authority_host"),
                   resource_manager_url=params.get("azure_resource_manager_url"), ca_path=params.get("ca_path"),
                   timeout=params["timeout"], on_secret=on_secret)

    def __init__(self, zone, subscription_id, resource_group=None, tenant_id=None, client_id=None,
                 client_secret=None, certificate_path=None, certificate_password=None, cloud=None,
                 authority_host=None, resource_manager_url=None, ca_path=None, timeout=10.0, retry=None,
                 on_secret=None):
        self.zone_text = validate.domain_of(zone)
        self.zone_fqdn = validate.fqdn(zone)
        # Azure DNS zone names are case-insensitive and Azure keeps and returns them in lower case: the zone
        # is asked for, and compared, in lower case whatever case the option used.
        self.zone_name = self.zone_fqdn.rstrip(".")
        self.group = resource_group or None
        _load()
        self.retry = retry or RetryPolicy()
        self.on_secret = on_secret
        self.secret(client_secret)
        self.secret(certificate_password)
        authority, arm = cloud_endpoints(cloud)
        self.authority = (authority_host or authority).rstrip("/")
        self.arm = (resource_manager_url or arm).rstrip("/")
        # Resource Manager counts per subscription and principal; the subscription names it in unroute_budgets.
        self.account = ("azure", "%s %s %s" % (self.arm, subscription_id, client_id or "default"), subscription_id)
        if "://" not in self.authority:
            self.authority = "https://" + self.authority
        # azure-core retries on its own by default; ours is the only policy, so throttling shows once.
        common = dict(retry_total=0, connection_timeout=timeout, read_timeout=timeout)
        if ca_path:
            common["connection_verify"] = ca_path
        # One credential and client per principal, subscription and endpoint for the life of the process: the
        # credential keeps its token (fetched once, not once per module call) and the client its connections.
        # Azure SDK clients are thread-safe.
        key = (self.authority, self.arm, subscription_id, tenant_id, client_id, certificate_path, ca_path, timeout,
               hashlib.sha256(repr((client_secret, certificate_password)).encode("utf-8")).hexdigest())
        with _CLIENTS_LOCK:
            kept = _CLIENTS.get(key)
        if kept is None:
            kept = _client(self.authority, self.arm, arm, subscription_id, tenant_id, client_id, client_secret,
                           certificate_path, certificate_password, common)
            with _CLIENTS_LOCK:
                _CLIENTS[key] = kept
        self.credential, self.client = kept
        self.listing_key = (self.arm, subscription_id, client_id or "default")
        self.sets = {}

    # -- the seam ----------------------------------------------------------------
    def _call(self, func, what, write=False, **kwargs):
        return self.attempt(lambda: func(**kwargs), what, write)

    def classify(self, err, what, write):
        if isinstance(err, ClientAuthenticationError):
            return CredentialsRefused(self.zone_text, what, "Azure refused the credentials (%s)" % self._text(err))
        if isinstance(err, HttpResponseError):
            status, code = err.status_code, _code(err)
            if status in (429, 503) or (status in (502, 504) and not write):
                return TransientError("Azure answered HTTP %d" % status, retry_after=_retry_after(err),
                                      throttled=status == 429)
            if status in (502, 504):
                return OutcomeUnknown("Azure answered HTTP %d (a gateway error: the write may have been applied)"
                                      % status)
            if status == 412 or (write and status == 409):
                return PrerequisiteFailed("Azure answered %d %s: the record set changed since it was read"
                                          % (status, code))
            if status == 403:
                return AccessDenied(self.zone_text, what, "Azure refused access (HTTP 403 %s: %s)"
                                    % (code, self._text(err)))
            if status == 404 and code != "InvalidResourceType":
                return ZoneNotFound(self.zone_text, "zone %s" % self.zone_text, "Azure DNS has no zone %s in "
                                    "resource group %s (%s)" % (self.zone_text, self.group, code or "HTTP 404"))
            return ProviderError(self.zone_text, what, "Azure answered HTTP %s %s: %s"
                                 % (status, code, self._text(err)), "look at the zone in the Azure portal")
        if isinstance(err, ServiceResponseError):
            if write:
                return OutcomeUnknown("the answer from Azure never came (%s)" % _first_line(err))
            return TransientError("Azure did not answer: %s" % _first_line(err))
        if isinstance(err, ServiceRequestError):
            return TransientError("cannot reach Azure at %s: %s" % (self.arm, _first_line(err)))
        return None

    def _text(self, err):
        return self.clean(getattr(err, "message", None) or err)

    def _record_set(self, **kwargs):
        """The record set, or False when there is none: a 404 naming the record set (not the zone, and not a
        type Azure does not serve, which is no empty record set) is an empty RRset."""
        try:
            return self.client.record_sets.get(**kwargs)
        except HttpResponseError as err:
            if err.status_code == 404 and _code(err) not in ("ParentResourceNotFound", "ResourceNotFound",
                                                             "InvalidResourceType"):
                return False
            raise

    # -- interface -------------------------------------------------------------
    def find_zone(self):
        what = "zone %s" % self.zone_text
        if self.group is None:
            with _CLIENTS_LOCK:
                kept = _LISTINGS.get(self.listing_key)
            if kept is None or time.monotonic() - kept[0] > _LISTING_TTL or self.zone_name not in kept[1]:
                zones = self._call(lambda: list(self.client.zones.list()), what)
                listing = {}
                for z in zones:
                    listing.setdefault((z.name or "").lower().rstrip("."), []).append(_group_of(z.id))
                kept = (time.monotonic(), listing)
                with _CLIENTS_LOCK:
                    _LISTINGS[self.listing_key] = kept
            found = kept[1].get(self.zone_name) or []
            if not found:
                raise ZoneNotFound(self.zone_text, what, "Azure DNS has no zone %s in subscription %s that this "
                                   "identity can see" % (self.zone_text, self.client._config.subscription_id),
                                   reason="subscription")
            groups = sorted(found)
            if len(groups) > 1:
                raise ZoneNotFound(self.zone_text, what, "Azure DNS has zone %s in %d resource groups (%s)"
                                   % (self.zone_text, len(groups), ", ".join(groups)), reason="ambiguous")
            self.group = groups[0]
            return
        self._call(self.client.zones.get, what, resource_group_name=self.group, zone_name=self.zone_name)

    def _relative(self, name):
        name = validate.fqdn(name)
        if name == self.zone_fqdn:
            return "@"
        return name[:-len(self.zone_fqdn) - 1]

    def read(self, name, rdtype):
        name = validate.fqdn(name)
        if self.group is None:
            self.find_zone()
        record_set = self._call(self._record_set, "%s %s" % (name, rdtype),
                                resource_group_name=self.group, zone_name=self.zone_name,
                                relative_record_set_name=self._relative(name), record_type=rdtype)
        self.sets[(name, rdtype)] = record_set or None
        if not record_set:
            return RRset(name, rdtype)
        if getattr(record_set, "target_resource", None) is not None and record_set.target_resource.id:
            raise UnrouteError(self.zone_text, "%s %s" % (name, rdtype), "the record set is an alias of an Azure "
                               "resource (%s)" % record_set.target_resource.id, "edit it in the Azure portal")
        return RRset(name, rdtype, record_set.ttl, _values(record_set, rdtype))

    def read_zone(self):
        """Every record set of the zone (``/all``), following ``nextLink`` (the SDK's pager asks for each page
        within the one attempt); 1,000 a page, the largest ``$top`` Azure documents."""
        if self.group is None:
            self.find_zone()
        what = "zone %s (all records)" % self.zone_text
        sets = self._call(lambda: list(self.client.record_sets.list_all_by_dns_zone(
            resource_group_name=self.group, zone_name=self.zone_name, top=1000)), what)
        out = []
        for record_set in sets:
            rdtype = (record_set.type or "").rsplit("/", 1)[-1].upper()
            if rdtype not in ZONE_TYPES:
                continue
            if getattr(record_set, "target_resource", None) is not None and record_set.target_resource.id:
                continue  # an alias: read() of that name says why it is not edited
            name = validate.fqdn(record_set.fqdn) if record_set.fqdn else (
                self.zone_fqdn if record_set.name == "@" else validate.fqdn("%s.%s" % (record_set.name, self.zone_fqdn)))
            values = _values(record_set, rdtype)
            if values:
                out.append(RRset(name, rdtype, record_set.ttl, values))
        return out

    def change(self, expected, delete, add, ttl):
        name, rdtype = expected.name, expected.rdtype
        what = "%s %s" % (name, rdtype)
        record_set = self.sets.get((name, rdtype))
        held = _values(record_set, rdtype) if record_set else []
        if sorted(held) != sorted(expected.values):
            raise PrerequisiteFailed("the record set read last is not the one the plan was made from")
        wanted = [v for v in expected.values if v not in delete] + [v for v in add if v not in expected.values]
        args = dict(resource_group_name=self.group, zone_name=self.zone_name,
                    relative_record_set_name=self._relative(name), record_type=rdtype)
        if not wanted:
            self._call(self.client.record_sets.delete, what, write=True, if_match=record_set.etag, **args)
            return
        if record_set is None:
            record_set = dns_models.RecordSet(ttl=ttl)
            guard = dict(if_none_match="*")
        else:
            guard = dict(if_match=record_set.etag)
        _set_values(record_set, rdtype, wanted)
        self._call(self.client.record_sets.create_or_update, what, write=True, parameters=record_set,
                   **dict(args, **guard))


def _values(record_set, rdtype):
    """An Azure record set's records as DNS presentation values."""
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import txt_value
    if rdtype == "MX":
        return ["%d %s" % (r.preference, validate.fqdn(r.exchange)) for r in record_set.mx_records or []]
    if rdtype == "TXT":
        return [txt_value([s.encode("utf-8") for s in r.value or []]) for r in record_set.txt_records or []]
    if rdtype == "NS":
        return [validate.fqdn(r.nsdname) for r in record_set.ns_records or []]
    if rdtype == "CNAME":
        return [validate.fqdn(record_set.cname_record.cname)] if record_set.cname_record else []
    return []


def _set_values(record_set, rdtype, values):
    if rdtype == "MX":
        record_set.mx_records = [dns_models.MxRecord(preference=int(v.split()[0]),
                                                     exchange=v.split()[1].rstrip(".")) for v in values]
    elif rdtype == "TXT":
        import dns.rdata
        import dns.rdataclass
        import dns.rdatatype
        record_set.txt_records = [dns_models.TxtRecord(value=[s.decode("utf-8") for s in dns.rdata.from_text(
            dns.rdataclass.IN, dns.rdatatype.TXT, v).strings]) for v in values]
    else:
        raise ValueError("the Azure provider writes MX and TXT only, not %s" % rdtype)


def _group_of(resource_id):
    parts = (resource_id or "").split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else ""


def _code(err):
    error = getattr(err, "error", None)
    return getattr(error, "code", None) or ""


def _first_line(err):
    text = str(err).strip().splitlines()
    text = text[0] if text else type(err).__name__
    return text if len(text) <= 300 else text[:300] + "..."


def _retry_after(err):
    response = getattr(err, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None
