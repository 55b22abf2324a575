# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the DNS modules (dns_mx, dns_spf, dns_info, dns_restore) share: argument spec, and the engine built from
parameters."""

from __future__ import annotations

import functools

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._runner import ArgSpec
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import (
    fingerprint_argument_spec, fingerprint_from_params)
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import manual
# Imported with the module, not when a provider is chosen: Ansible loads the action plugin (and so this
# file) in its main process before forking a worker per task, so boto3 and Route 53's service model
# (about 0.2 s of CPU), and requests for Cloudflare and PowerDNS, are loaded once per playbook run
# instead of once per task. Azure's, Google's and lexicon's libraries load only when chosen (their
# provider's available()).
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.route53 import Route53Provider
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.cloudflare import CloudflareProvider
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.powerdns import PowerDnsProvider
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.azure import AzureDnsProvider
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.google_cloud_dns import CloudDnsProvider
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.lexicon import LexiconProvider
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import rfc2136
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import verify
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import DnsEngine, as_unroute_error
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.zone import ZoneSet
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import ProviderError

# ``provider:`` picks one; each declares its name, options, required options, library and how it is built.
REGISTRY = dict((cls.name, cls) for cls in (
    rfc2136.Rfc2136Provider, Route53Provider, CloudflareProvider, PowerDnsProvider, AzureDnsProvider,
    CloudDnsProvider, LexiconProvider, manual.ManualSteps))
PROVIDERS = tuple(REGISTRY)
CLOUDFLARE_URL = CloudflareProvider.options["cloudflare_api_url"]["default"]
REQUIRED_IF = [("provider", name, list(cls.required)) for name, cls in REGISTRY.items() if cls.required]

# What to do about a provider's typed error, worded once here because it names the user's options. A
# provider error that carries its own fix (a situation only that provider knows) keeps it.
FIXES = {
    ("rfc2136", "credentials"): "check key_name, key_secret and key_algorithm against the server's key statement",
    ("rfc2136", "unreachable"): "check server, port and firewall, or raise timeout",
    ("rfc2136", "unreachable", "connect"): "check server and port",
    ("rfc2136", "access"): "check the zone's update-policy/allow-update for this key and the server's log",
    ("rfc2136", "access", "query"): "point server at the zone's primary, or allow this client to query it",
    ("rfc2136", "zone"): "point server at the zone's primary",
    ("rfc2136", "zone", "primary"): "set server: to the zone's primary name server",
    ("rfc2136", "zone", "notauth"): "point server at the zone's primary and check the key",
    ("rfc2136", "refused", "notzone"): "check zone and record",
    ("route53", "option", "profile"): "give a profile from ~/.aws/config",
    ("route53", "option", "hosted_zone_id"): "give the id of zone {zone} or leave hosted_zone_id out",
    ("route53", "zone", "account"): "check zone and the account of the credentials",
    ("route53", "zone", "ambiguous"): "give hosted_zone_id",
    ("route53", "credentials"): "check aws_access_key/aws_secret_key/aws_session_token or aws_profile (or "
                                "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and that the identity "
                                "may use route53",
    ("route53", "zone"): "check zone and hosted_zone_id",
    ("route53", "unreachable"): "check aws_endpoint_url and the network, or run again later",
    ("cloudflare", "credentials"): "check cloudflare_api_token (or CLOUDFLARE_API_TOKEN): it needs Zone Read and "
                                   "DNS Edit on this zone",
    ("cloudflare", "zone"): "check zone, and that the token covers this zone (Zone Read)",
    ("cloudflare", "unreachable"): "check the API URL and the network, or run again later",
    ("powerdns", "credentials"): "check powerdns_api_key (or PDNS_API_KEY) against the server's api-key setting",
    ("powerdns", "zone"): "check zone and powerdns_server_id, or point powerdns_api_url at the server that holds it",
    ("powerdns", "unreachable"): "check the API URL and the network, or run again later",
    ("azure", "credentials"): "check azure_tenant_id, azure_client_id and azure_client_secret or "
                              "azure_client_certificate_path (or AZURE_TENANT, AZURE_CLIENT_ID, AZURE_SECRET) and "
                              "azure_cloud",
    ("azure", "access"): "give the identity the DNS Zone Contributor role on the zone (or its resource group)",
    ("azure", "zone"): "check zone, azure_resource_group and azure_subscription_id",
    ("azure", "zone", "subscription"): "check zone and azure_subscription_id, or give azure_resource_group",
    ("azure", "zone", "ambiguous"): "give azure_resource_group",
    ("azure", "unreachable"): "check azure_resource_manager_url and the network, or run again later",
    ("google_cloud_dns", "credentials"): "check gcp_service_account_file or gcp_service_account_contents (or "
                                         "GCP_SERVICE_ACCOUNT_FILE, GOOGLE_APPLICATION_CREDENTIALS) and that the key "
                                         "is not deleted",
    ("google_cloud_dns", "credentials", "file"): "give a readable service-account key file",
    ("google_cloud_dns", "credentials", "none"): "set gcp_service_account_file (or run on a machine with a service "
                                                 "account attached)",
    ("google_cloud_dns", "option", "project"): "set gcp_project (or GCP_PROJECT)",
    ("google_cloud_dns", "zone"): "check zone and gcp_project",
    ("google_cloud_dns", "access"): "give the service account the DNS Administrator role (roles/dns.admin) on "
                                    "project {project}",
    ("google_cloud_dns", "unreachable"): "check gcp_api_endpoint and the network, or run again later",
    ("lexicon", "credentials"): "check lexicon_options (the {lexicon} provider's auth_* options) and that they may "
                                "edit zone {zone}",
    ("lexicon", "zone"): "check zone and the account in lexicon_options",
    ("lexicon", "unreachable"): "check the host's API address in lexicon_options and the network, or run again later",
    ("lexicon", "refused"): "check lexicon_options against the {lexicon} provider's options ('lexicon {lexicon} "
                            "--help')",
}


def dns_argument_spec():
    spec = dict(
        zone=dict(type="str", required=True),
        record=dict(type="str"),
        timeout=dict(type="float", default=10.0),
        provider=dict(type="str", default="rfc2136", choices=list(PROVIDERS)),
        # A private CA for a hosted DNS API served with one (a lab, a TLS-inspecting proxy).
        ca_path=dict(type="path"),
    )
    for cls in REGISTRY.values():
        spec.update(cls.options)
    spec.update(fingerprint_argument_spec())
    return spec


def chosen(params):
    return REGISTRY[params.get("provider") or "rfc2136"]


def build_engine(params, read_only=False, ctx=None):
    """Engine for the parameters; raises UnrouteError (one clear line) on bad input, before any DNS traffic.
    ``ctx`` (the run context) receives the engine's warnings and the secrets a provider finds at run time."""
    zone = params["zone"]
    if not rfc2136.HAS_DNSPYTHON:
        raise UnrouteError(validate.domain_of(zone), None, missing_required_lib("dnspython"))
    check_options(params)
    try:
        fingerprint = fingerprint_from_params(params)
    except ValueError as err:
        raise UnrouteError(validate.domain_of(zone), None, str(err), "fix the fingerprint options")
    if params.get("replacement") is not None:
        validate.check_replacement(zone, params["replacement"], fingerprint)
    cls = chosen(params)
    if not cls.available():
        raise UnrouteError(validate.domain_of(zone), None, missing_required_lib(cls.library))
    provider = cls.from_params(zone, params, read_only=read_only, on_secret=ctx.secret if ctx else None)
    warn = (lambda text: ctx.warn("%s: %s" % (validate.domain_of(zone), text))) if ctx else None
    engine = DnsEngine(provider, zone, fingerprint, warn=warn, manual=cls.steps_for(zone, params),
                       explain=lambda err: explain(err, params))
    # SPF names outside the zone are asked of the zone's own server when there is one (it may serve the
    # customer's other zones too), else of the system resolver.
    engine.outside_server = provider.primary
    engine.outside_port = params.get("port") or 53
    return engine


def explain(err, params):
    """A provider's typed error with the fix worded for the options of the provider the user chose."""
    if not isinstance(err, ProviderError) or err.fix:
        return err
    cls = chosen(params)
    fix = None
    for name in (cls.name,) + tuple(getattr(cls, "reads_as", ())):
        fix = FIXES.get((name, err.kind, err.reason)) or FIXES.get((name, err.kind))
        if fix:
            break
    if fix is None:
        return err
    words = dict(zone=validate.domain_of(params.get("zone")), project=params.get("gcp_project") or "",
                 lexicon=str(params.get("lexicon_provider") or "").strip().lower())
    words.update(err.about)
    return UnrouteError(err.domain, err.obj, err.cause, fix.format(**words), err.partial)


def check_options(params):
    """Every option the user typed, checked in the order a reader would fix them; nothing is resolved but the
    server's host name."""
    zone = params["zone"]
    validate.check_zone(zone)
    validate.check_records(zone, params.get("record") or None, params.get("records"))
    validate.check_port(zone, params["port"])
    validate.check_timeout(zone, params["timeout"])
    chosen(params).check(zone, params)
    if params.get("dkim_selectors") is not None:
        validate.check_selectors(zone, params["dkim_selectors"])


def run(operation, params, ctx):
    """The platform contract's run: ``operation(engine, params, ctx)`` on the zone's engine (``read_only``: an
    audit-only module, planned as in check mode whatever the task's mode); the runner shapes the result.

    Whatever escapes the engine leaves here as the one-line error, never as a library's bare message."""
    # A unicode zone or record name (bücher.test) is worked on as its A-label, as dig and nsupdate do.
    params = validate.normalise(params)
    if (params.get("verify_timeout") or 0) < 0:
        # Refused before anything is read or written, like every other option.
        raise UnrouteError(validate.domain_of(params.get("zone")), "option verify_timeout",
                           "%d seconds is negative" % params["verify_timeout"],
                           "give the seconds to wait for every nameserver (0: ask each once)")
    try:
        engine = build_engine(params, read_only=operation.need("read_only"), ctx=ctx)
        outcome = operation(engine, params, ctx)
    except Exception as err:  # noqa: B902 - the module boundary: every failure is one line
        raise explain(as_unroute_error(validate.domain_of(params.get("zone")), None, err), params)
    if "verify" in params:
        outcome = dict(outcome, verification=verification(params, ctx, engine, outcome))
    return outcome


# dns_mx, dns_spf and dns_info: the whole zone, read once (documentation: doc_fragments/dns_zone_scan.py).
ZONE_SCAN_OPTIONS = dict(
    zone_scan=dict(type="bool", default=False),
    customer_zones=dict(type="list", elements="str", default=[]),
)


def customer_zones(params):
    """The customer's zones as a ZoneSet (the chains look the run's own zone up first anyway)."""
    return _zone_set(tuple(params.get("customer_zones") or ()))


@functools.lru_cache(maxsize=16)
def _zone_set(names):
    # Every module call of an estate run gives the same inventory's names: their A-labels are worked out once.
    return ZoneSet(validate.fqdn(str(n)) for n in names if n)


# dns_mx and dns_spf: prove a change on every authoritative server (documentation: doc_fragments/dns_verify.py).
VERIFY_OPTIONS = dict(
    verify=dict(type="str", default="none", choices=list(verify.CHOICES)),
    verify_timeout=dict(type="int", default=60),
)


def verification(params, ctx, engine, outcome):
    """Per-server results after a real change; nothing is asked in check mode, after no change, with
    provider manual, or after a failure (what a failed run did is for the next run to finish)."""
    if params.get("verify") != "authoritative" or ctx.check_mode or outcome.get("failed"):
        return []
    # Only a write shows as removed/added: a planned change, or one left to a person (provider manual), has
    # nothing to prove yet.
    if not any(f.get("action") in ("removed", "added") for f in outcome.get("findings") or []):
        return []
    changes = verify.changed_rrsets(outcome)
    if not changes:
        return []
    zone = params["zone"]
    # The primary the change went to knows the zone's NS RRset and in-zone addresses first; a hosted
    # provider's API is no DNS server, so the system resolver answers for it.
    server = engine.provider.primary
    results, warnings = verify.verify(zone, changes, port=params["port"], server=server, timeout=params["timeout"],
                                      verify_timeout=params["verify_timeout"])
    for text in warnings:
        ctx.warn("%s: %s" % (validate.domain_of(zone), text))
    return results


ARGSPEC = ArgSpec(dns_argument_spec(), required_if=REQUIRED_IF)
