# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One domain's steps as data: which modules run, in which order, with which options.

The role's task files used to build these from role variables (vars/main.yml and the
module_defaults of each task file). Both engines now take them from here, so the
per-host path (the ``domain`` action in the role) and the estate path (the ``estate``
action) cannot plan a domain differently.

A step is ``Step(name, module, params, task, ignore_errors)``: ``name`` is what the run
record calls its result (``unroute_result_<name>`` in the role), ``params`` the module's
options with every "omitted" option left out, ``task`` the task name a failure is noted
under. ``params`` may be a list: one call per item (Exchange's transport servers, as the
role's loop did).
"""

from __future__ import annotations

import collections

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError

Step = collections.namedtuple("Step", "name module params task ignore_errors")

# Platforms whose steps run on the mail servers themselves (over SSH): they stay tasks of the role.
MTA_PLATFORMS = ("mta",)

PLAN_CHECK_TASK = "Reviewed plan - go on only if the fresh plan is the audit's"

_DNS_PROVIDER_OPTIONS = {
    "route53": ("aws_access_key", "aws_secret_key", "aws_session_token", "aws_profile", "aws_region",
                "aws_endpoint_url", "hosted_zone_id"),
    "cloudflare": ("cloudflare_api_token", "cloudflare_api_url"),
    "powerdns": ("powerdns_api_url", "powerdns_api_key"),
    "azure": ("azure_subscription_id", "azure_resource_group", "azure_tenant_id", "azure_client_id",
              "azure_client_secret", "azure_client_certificate_path", "azure_cloud", "azure_authority_host",
              "azure_resource_manager_url", "ca_path"),
    "google_cloud_dns": ("gcp_project", "gcp_service_account_file", "gcp_api_endpoint", "ca_path"),
    "lexicon": ("lexicon_provider",),
}
# Options a provider always gets, empty or not (the role rendered them without `default(omit, true)`).
_DNS_PROVIDER_ALWAYS = {"route53": ("private_zone",), "powerdns": ("powerdns_server_id",),
                        "lexicon": ("lexicon_options",)}

_MISSING = object()
# What resolve returns for a variable templated to Ansible's omit placeholder: as if it were not set.
_OMITTED = object()
OMITTED = _OMITTED


class DomainVars(object):
    """A domain's ``unroute_*`` variables with the role's defaults under them.

    ``variables``: name -> value; ``resolve``: how a raw value becomes its final one (templating), called
    once per variable actually used, so a variable no step needs can never stop a domain.
    """

    def __init__(self, variables, resolve=None):
        self.raw = variables
        self.resolve = resolve or (lambda value: value)
        self.v = {}

    def get(self, name, default=None):
        key = "unroute_" + name
        if key not in self.v:
            if key not in self.raw:
                return default
            self.v[key] = self.resolve(self.raw[key])
        value = self.v[key]
        return default if value is _OMITTED else value

    def has(self, name):
        return ("unroute_" + name) in self.raw and self.get(name, _OMITTED) is not _OMITTED

    def need(self, name):
        if not self.has(name):
            raise UnrouteError(self.domain, "unroute_" + name, "not set, and platform %s needs it" % self.platform,
                               "set unroute_%s in the inventory" % name)
        return self.get(name)

    def flag(self, name, default):
        return boolean(self.get(name, default), strict=False)

    @property
    def domain(self):
        return str(self.get("domain"))

    @property
    def platform(self):
        return str(self.get("platform", "other"))


def _put(params, key, value):
    """Set an option unless the role would have omitted it (`default(omit, true)`: empty means not given)."""
    if value not in (None, "", [], {}):
        params[key] = value


def needs_mail_servers(dv):
    """Whether this domain's platform steps run on its mail servers over SSH (the role's task path)."""
    return dv.platform in MTA_PLATFORMS or (dv.platform == "other" and bool(dv.get("mta_hosts")))


def dns_defaults(dv):
    provider = dv.get("dns_provider", "rfc2136")
    params = {"zone": dv.get("dns_zone"), "port": dv.get("dns_port"), "protocol": dv.get("dns_protocol"),
              "key_algorithm": dv.get("dns_key_algorithm"), "provider": provider, "dns_host": dv.get("dns_host"),
              "fingerprint": dv.get("fingerprint")}
    for option in ("server", "key_name", "key_secret"):
        _put(params, option, dv.get("dns_" + option))
    for option in _DNS_PROVIDER_OPTIONS.get(provider, ()):
        _put(params, option, dv.get("dns_" + option))
    for option in _DNS_PROVIDER_ALWAYS.get(provider, ()):
        params[option] = dv.get("dns_" + option)
    return params


def microsoft365_defaults(dv):
    params = {"domain": dv.domain, "client_id": dv.need("exo_client_id"), "fingerprint": dv.get("fingerprint")}
    for option in ("tenant_id", "certificate_path", "certificate_password", "authority_host", "api_endpoint",
                   "ca_path"):
        _put(params, option, dv.get("exo_" + option))
    if not dv.get("exo_certificate_path"):
        _put(params, "client_secret", dv.get("exo_client_secret"))
    return params


def _first_defined(dv, *names):
    for name in names:
        if dv.has(name):
            return dv.get(name)
    return _MISSING


def google_defaults(dv):
    params = {"domain": dv.domain, "api": dv.get("google_api", "policy"), "fingerprint": dv.get("fingerprint")}
    given = {
        "credentials_file": _first_defined(dv, "google_service_account_file", "google_credentials_file"),
        "subject": _first_defined(dv, "google_subject", "google_subject_pattern"),
        "access_token": _first_defined(dv, "google_access_token"),
        "token_uri": _first_defined(dv, "google_token_uri"),
        "api_endpoint": _first_defined(dv, "google_api_endpoint"),
        "admin_settings_endpoint": _first_defined(dv, "google_admin_settings_endpoint"),
        "ca_path": _first_defined(dv, "google_ca_path", "google_ca_file"),
    }
    params.update((k, v) for k, v in given.items() if v is not _MISSING)
    return params


def exchange_defaults(dv):
    params = {"domain": dv.domain, "transport": dv.get("exchange_transport", "ntlm"),
              "username": dv.need("exchange_username"), "password": dv.need("exchange_password"),
              "fingerprint": dv.get("fingerprint")}
    for option in ("scheme", "ca_path"):
        if dv.has("exchange_" + option):
            params[option] = dv.get("exchange_" + option)
    return params


def _with(defaults, **params):
    merged = dict(defaults)
    merged.update(params)
    return merged


def _given(dv, params, **names):
    """Options set only when their variable is defined (the role's `default(omit)`)."""
    for option, name in names.items():
        if dv.has(name):
            params[option] = dv.get(name)
    return params


def platform_steps(dv):
    platform = dv.platform
    if platform == "microsoft365":
        base = microsoft365_defaults(dv)
        state = dv.get("exo_state", "disabled")
        return [
            Step("exo_transport_rule", "exo_transport_rule", _with(base, state=state),
                 "Microsoft 365 - mail flow rules that route through mxHero", False),
            Step("exo_connector", "exo_connector", _with(base, state=state, direction="both"),
                 "Microsoft 365 - connectors to and from mxHero", False),
            Step("exo_info", "exo_info", _with(base, checks=["arc", "connection_filter", "journal"]),
                 "Microsoft 365 - ARC sealers, connection-filter allow list, journal rules (read-only)", False),
        ]
    if platform == "google":
        base = google_defaults(dv)
        steps = [Step("google_gateway", "google_gateway",
                      _given(dv, dict(base), mutable_setting_types="google_mutable_setting_types",
                             gateway_verified="google_gateway_verified", audit_log="google_audit_log",
                             on_manual="google_on_manual"),
                      "Google - take mxHero out of Gmail (what the API cannot change comes back as manual actions)",
                      False)]
        # A grant or a send-as relay routes no mail: their failure is reported without keeping DNS from being cleaned.
        if dv.flag("google_app_grants", True):
            steps.append(Step("google_app_grants", "google_app_grants",
                              _given(dv, dict(base), client_ids="google_client_ids", max_users="google_max_users",
                                     app_access_steps="google_app_access_steps"),
                              "Google - revoke the OAuth grants users gave mxHero's GWFIX app", True))
        if dv.flag("google_send_as", dv.has("google_service_account_file")):
            steps.append(Step("google_send_as", "google_send_as",
                              _given(dv, dict(base), max_users="google_max_users"),
                              "Google - find send-as addresses that relay through mxHero", True))
        return steps
    if platform == "exchange":
        base = exchange_defaults(dv)
        state_agent = dv.get("exchange_agent_state", "absent")
        if dv.has("exchange_servers"):
            servers = list(dv.get("exchange_servers") or [])
        else:
            one = {"host": dv.need("exchange_host")}
            if dv.has("exchange_port"):
                one["port"] = dv.get("exchange_port")
            servers = [one]
        agents = []
        for server in servers:
            params = _with(base, host=server["host"], state=state_agent)
            if "port" in server:
                params["port"] = server["port"]
            if "fqdn" in server:
                params["kerberos_hostname_override"] = server["fqdn"]
            agents.append(params)
        first = dict(servers[0]) if servers else {}
        if not dv.has("exchange_servers") and dv.has("exchange_psrp_port"):
            first["psrp_port"] = dv.get("exchange_psrp_port")
        connector = _with(base, host=first.get("host"), state=dv.get("exchange_connector_state", "absent"))
        if "psrp_port" in first:
            connector["psrp_port"] = first["psrp_port"]
        if "fqdn" in first:
            connector["kerberos_hostname_override"] = first["fqdn"]
        return [
            Step("exchange_transport_agent", "exchange_transport_agent", agents,
                 "Exchange - uninstall the mxHero transport agent on every transport server", False),
            Step("exchange_send_connector", "exchange_send_connector", connector,
                 "Exchange - remove send connectors that relay through mxHero", False),
        ]
    return []


def _records(dv):
    return [dv.get("dns_zone")] + list(dv.get("dns_records") or [])


def _zones(dv):
    zones = dv.get("dns_customer_zones") or []
    # A tuple is the inventory's names as the engines hand them over (checked once for the whole run).
    return zones if isinstance(zones, tuple) else list(zones)


def dns_steps(dv):
    if not dv.flag("dns_enabled", True):
        return []
    base = dns_defaults(dv)
    verify = {"verify": dv.get("dns_verify"), "verify_timeout": dv.get("dns_verify_timeout")}
    # Every name in the zone, and SPF followed through the customer's own zones (tasks/dns.yml).
    scan = {"zone_scan": dv.flag("dns_zone_scan", True)}
    mx = _with(base, records=_records(dv), **dict(scan, **verify))
    _put(mx, "replacement", dv.get("mx_replacement"))
    steps = [Step("dns_mx", "dns_mx", mx, "DNS - remove mxHero MX records", False),
             Step("dns_spf", "dns_spf", _with(base, customer_zones=_zones(dv),
                                              **dict(scan, **verify)),
                  "DNS - remove mxHero SPF terms", False)]
    if dv.flag("dns_report_dkim", True):
        steps.append(Step("dns_dkim", "dns_info", _given(dv, _with(base, checks=["dkim"], **scan),
                                                         dkim_selectors="dkim_selectors"),
                          "DNS - report DKIM selectors that point into mxHero (read-only)", False))
    # Always a step: the role registers its task's result even when the check is off (skipped).
    mail_zone = MailZoneCheck(_with(base, checks=["mail_zone"]))
    mail_zone.enabled = dv.flag("dns_check_mail_zone", True)
    steps.append(Step("dns_mail_zone", "dns_info", mail_zone, "DNS - check the changed zone as a mail zone", False))
    return steps


class MailZoneCheck(dict):
    """The mail-zone check's options, completed from the results of the steps before it (tasks/dns.yml):
    the names a real run wrote. Nothing written (audit, dry run only, nothing to do) or the check off
    (``unroute_dns_check_mail_zone``): the step is skipped."""

    enabled = True

    def complete(self, results):
        written = [f for name in ("unroute_result_dns_mx", "unroute_result_dns_spf")
                   for f in (results.get(name) or {}).get("findings") or []
                   if f.get("action") in ("removed", "added")]
        names = []
        for finding in written:
            record = (finding.get("before") or {}).get("record")
            if record and record not in names:
                names.append(record)
        if not written or not self.enabled:
            return None
        return dict(self, mail_zone_names=names)


def dry_run_only(dv):
    """``unroute_dry_run_only`` as a host variable or the group of that name (vars/main.yml unroute_dry_run)."""
    return dv.flag("dry_run_only", False) or "unroute_dry_run_only" in (dv.raw.get("group_names") or [])


def domain_steps(dv):
    """Platform modules first (what sends mail to mxHero), then DNS."""
    return platform_steps(dv) + dns_steps(dv)


def restore_steps(dv, restoring):
    """What puts back one domain's entry of a run record: DNS first, then the platform, then manual steps."""
    platform = dv.platform
    steps = []
    removed, added = restoring.get("removed") or [], restoring.get("added") or []
    findings = restoring.get("findings") or []
    if dv.flag("dns_enabled", True):
        params = _with(dns_defaults(dv), records=_records(dv), zone_scan=dv.flag("dns_zone_scan", True),
                       removed=[r for r in removed if r.get("module") in ("dns_mx", "dns_spf")],
                       added=[r for r in added if r.get("module") in ("dns_mx", "dns_spf")])
        _put(params, "replacement", dv.get("mx_replacement"))
        steps.append(Step("dns_restore", "dns_restore", params, "Restore - DNS SPF and MX records as they were", False))
    if platform == "microsoft365":
        steps.append(Step("exo_restore", "exo_restore", _with(microsoft365_defaults(dv), findings=findings),
                          "Restore - Microsoft 365 allow list, connectors, then rules", False))
    if platform == "google":
        steps.append(Step("google_restore", "google_restore",
                          _given(dv, _with(google_defaults(dv), removed=removed, findings=findings),
                                 mutable_setting_types="google_mutable_setting_types"),
                          "Restore - Google Workspace settings through the Policy API that changed them", False))
    if platform in ("google", "exchange", "mta", "microsoft365") or dv.get("mta_hosts"):
        steps.append(Step("restore_steps", "restore_steps",
                          {"domain": dv.domain, "findings": findings, "removed": removed,
                           "fingerprint": dv.get("fingerprint")},
                          "Restore - what a person must put back (re-created objects, Exchange Server, mail servers, "
                          "Gmail gateway)", False))
    return steps


_CHECK_TASKS = {"dns_restore": "Restore - check the DNS entries of the record",
                "exo_restore": "Restore - check the Microsoft 365 entries of the record",
                "google_restore": "Restore - check the Google Workspace entries of the record",
                "restore_steps": "Restore - check the entries a person must put back"}


def restore_check_task(step):
    return _CHECK_TASKS.get(step.name, step.task)
