# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure DNS through azure-mgmt-dns and azure-identity.

Compare-and-swap: every record set carries an ``etag``; a write sends ``If-Match: <etag as read>`` (a new set
``If-None-Match: *``) and Azure answers 412 Precondition Failed when the set changed since. The provider turns
that into PrerequisiteFailed, so the engine re-reads and re-plans instead of overwriting (Ansible's
azure_rm_dnsrecordset sends no If-Match; we do).
"""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError, scrub
from ansible_collections.mxhero.unroute.plugins.module_utils._retry import RetryExhausted, RetryPolicy, TransientError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import (
    ATOMIC_CAS, DnsProvider, OutcomeUnknown, PrerequisiteFailed, RRset)

try:
    from azure.core.exceptions import (ClientAuthenticationError, HttpResponseError, ServiceRequestError,
                                       ServiceResponseError)
    from azure.identity import CertificateCredential, ClientSecretCredential, DefaultAzureCredential
    from azure.mgmt.dns import DnsManagementClient
    from azure.mgmt.dns import models as dns_models
    HAS_AZURE = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_AZURE = False

# azure.azcollection's cloud_environment names, and the short forms; (authority host, Resource Manager URL).
CLOUDS = {
    "azurecloud": ("https://login.microsoftonline.com", "https://management.azure.com"),
    "azurechinacloud": ("https://login.chinacloudapi.cn", "https://management.chinacloudapi.cn"),
    "azureusgovernment": ("https://login.microsoftonline.us", "https://management.usgovcloudapi.net"),
}
ALIASES = {"public": "azurecloud", "china": "azurechinacloud", "usgov": "azureusgovernment",
           "usgovernment": "azureusgovernment"}
_CRED_FIX = ("check azure_tenant_id, azure_client_id and azure_client_secret or azure_client_certificate_path "
             "(or AZURE_TENANT, AZURE_CLIENT_ID, AZURE_SECRET) and azure_cloud")
_ROLE_FIX = "give the identity the DNS Zone Contributor role on the zone (or its resource group)"


def cloud_endpoints(cloud):
    """(authority host, Resource Manager URL) of an ``azure_cloud`` value, or None when it names no cloud."""
    key = str(cloud or "public").strip().lower().replace("_", "").replace(" ", "")
    return CLOUDS.get(ALIASES.get(key, key))


class AzureDnsProvider(DnsProvider):
    name = "azure"
    guarantee = ATOMIC_CAS

    def __init__(self, zone, subscription_id, resource_group=None, tenant_id=None, client_id=None,
                 client_secret=None, certificate_path=None, certificate_password=None, cloud=None,
                 authority_host=None, resource_manager_url=None, ca_path=None, timeout=10.0, retry=None):
        self.zone_text = validate.domain_of(zone)
        self.zone_fqdn = validate.fqdn(zone)
        # Azure DNS zone names are case-insensitive and Azure keeps and returns them in lower case: the zone
        # is asked for, and compared, in lower case whatever case the option used.
        self.zone_name = self.zone_fqdn.rstrip(".")
        self.group = resource_group or None
        self.retry = retry or RetryPolicy()
        self.secrets = [client_secret, certificate_password]
        authority, arm = cloud_endpoints(cloud)
        self.authority = (authority_host or authority).rstrip("/")
        self.arm = (resource_manager_url or arm).rstrip("/")
        if "://" not in self.authority:
            self.authority = "https://" + self.authority
        # azure-core retries on its own by default; ours is the only policy, so throttling shows once.
        common = dict(retry_total=0, connection_timeout=timeout, read_timeout=timeout)
        if ca_path:
            common["connection_verify"] = ca_path
        known = self.authority in [c[0] for c in CLOUDS.values()]
        cred_args = dict(common, authority=self.authority, disable_instance_discovery=not known)
        if client_id and client_secret:
            self.credential = ClientSecretCredential(tenant_id or "organizations", client_id, client_secret,
                                                     **cred_args)
        elif client_id and certificate_path:
            self.credential = CertificateCredential(tenant_id or "organizations", client_id, certificate_path,
                                                    password=certificate_password or None, **cred_args)
        else:
            self.credential = DefaultAzureCredential(exclude_interactive_browser_credential=True, **cred_args)
        self.client = DnsManagementClient(self.credential, subscription_id, base_url=self.arm,
                                          credential_scopes=[arm.rstrip("/") + "/.default"], **common)
        self.sets = {}

    # -- plumbing --------------------------------------------------------------
    def _call(self, func, what, write=False, missing=None, **kwargs):
        """One SDK call through the retry policy; Azure's answers as one-line errors. ``missing`` is returned
        for a 404 whose code says the record set (not the zone) does not exist."""
        def attempt():
            try:
                return func(**kwargs)
            except ClientAuthenticationError:
                raise
            except HttpResponseError as err:
                if err.status_code in (429, 503) or (err.status_code in (502, 504) and not write):
                    raise TransientError("Azure answered HTTP %d" % err.status_code,
                                         retry_after=_retry_after(err))
                if err.status_code in (502, 504):
                    raise OutcomeUnknown("Azure answered HTTP %d (a gateway error: the write may have been "
                                         "applied)" % err.status_code)
                raise
            except ServiceResponseError as err:
                if write:
                    raise OutcomeUnknown("the answer from Azure never came (%s)" % _first_line(err))
                raise TransientError("Azure did not answer: %s" % _first_line(err))
            except ServiceRequestError as err:
                raise TransientError("cannot reach Azure at %s: %s" % (self.arm, _first_line(err)))

        try:
            return self.retry.call(attempt)
        except RetryExhausted as err:
            raise UnrouteError(self.zone_text, what, str(err), "check azure_resource_manager_url and the network, "
                               "or run again later")
        except ClientAuthenticationError as err:
            raise UnrouteError(self.zone_text, what, "Azure refused the credentials (%s)" % self._clean(err),
                               _CRED_FIX)
        except HttpResponseError as err:
            code = _code(err)
            if err.status_code == 412 or (write and err.status_code == 409):
                raise PrerequisiteFailed("Azure answered %d %s: the record set changed since it was read"
                                         % (err.status_code, code))
            if err.status_code == 403:
                raise UnrouteError(self.zone_text, what, "Azure refused access (HTTP 403 %s: %s)"
                                   % (code, self._clean(err)), _ROLE_FIX)
            zone_gone = code in ("ParentResourceNotFound", "ResourceNotFound")
            # A 404 for a type Azure does not serve is no empty record set: say so rather than read "nothing".
            if err.status_code == 404 and missing is not None and not zone_gone and code != "InvalidResourceType":
                return missing
            if err.status_code == 404 and code != "InvalidResourceType":
                raise UnrouteError(self.zone_text, "zone %s" % self.zone_text, "Azure DNS has no zone %s in "
                                   "resource group %s (%s)" % (self.zone_text, self.group, code or "HTTP 404"),
                                   "check zone, azure_resource_group and azure_subscription_id")
            raise UnrouteError(self.zone_text, what, "Azure answered HTTP %s %s: %s"
                               % (err.status_code, code, self._clean(err)), "look at the zone in the Azure portal")

    def _clean(self, err):
        return scrub(_first_line(getattr(err, "message", None) or err), self.secrets)

    # -- interface -------------------------------------------------------------
    def check_zone(self, zone):
        what = "zone %s" % self.zone_text
        if self.group is None:
            zones = self._call(lambda: list(self.client.zones.list()), what)
            found = [z for z in zones if (z.name or "").lower().rstrip(".") == self.zone_name]
            if not found:
                raise UnrouteError(self.zone_text, what, "Azure DNS has no zone %s in subscription %s that this "
                                   "identity can see" % (self.zone_text, self.client._config.subscription_id),
                                   "check zone and azure_subscription_id, or give azure_resource_group")
            groups = sorted(_group_of(z.id) for z in found)
            if len(groups) > 1:
                raise UnrouteError(self.zone_text, what, "Azure DNS has zone %s in %d resource groups (%s)"
                                   % (self.zone_text, len(groups), ", ".join(groups)),
                                   "give azure_resource_group")
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
            self.check_zone(self.zone_text)
        record_set = self._call(self.client.record_sets.get, "%s %s" % (name, rdtype), missing=False,
                                resource_group_name=self.group, zone_name=self.zone_name,
                                relative_record_set_name=self._relative(name), record_type=rdtype)
        self.sets[(name, rdtype)] = record_set or None
        if not record_set:
            return RRset(name, rdtype)
        if getattr(record_set, "target_resource", None) is not None and record_set.target_resource.id:
            raise UnrouteError(self.zone_text, "%s %s" % (name, rdtype), "the record set is an alias of an Azure "
                               "resource (%s)" % record_set.target_resource.id, "edit it in the Azure portal")
        return RRset(name, rdtype, record_set.ttl, _values(record_set, rdtype))

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
