# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the DNS modules (dns_mx, dns_spf, dns_info, dns_restore) share: argument spec, and the engine built from
parameters."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._runner import ArgSpec
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import (
    fingerprint_argument_spec, fingerprint_from_params)
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import manual
# Imported with the module, not when a provider is chosen: Ansible loads the action plugin (and so this
# file) in its main process before forking a worker per task, so boto3 and Route 53's service model
# (about 0.2 s of CPU), and requests for Cloudflare and PowerDNS, are loaded once per playbook run
# instead of once per task.
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import rest
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import route53
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.cloudflare import CloudflareProvider
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.powerdns import PowerDnsProvider
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import rfc2136
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import verify
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import DnsEngine, as_unroute_error


def dns_argument_spec():
    spec = dict(
        zone=dict(type="str", required=True),
        record=dict(type="str"),
        server=dict(type="str"),
        port=dict(type="int", default=53),
        key_name=dict(type="str"),
        key_secret=dict(type="str", no_log=True),
        # No `choices`: a typo must fail with the domain named, like every other option (validate.check_key).
        key_algorithm=dict(type="str", default="hmac-sha256"),
        protocol=dict(type="str", default="tcp", choices=["tcp", "udp"]),
        timeout=dict(type="float", default=10.0),
        provider=dict(type="str", default="rfc2136", choices=list(PROVIDERS)),
        # Route 53: the names and environment variables of the AWS tools (amazon.aws, the AWS CLI).
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
        # Cloudflare: the names of Cloudflare's own SDK and tools.
        cloudflare_api_token=dict(type="str", no_log=True, fallback=(env_fallback, ["CLOUDFLARE_API_TOKEN"])),
        cloudflare_api_url=dict(type="str", default=CLOUDFLARE_URL),
        # PowerDNS: the environment variables of PowerDNS tooling (pdnsutil-less API clients, terraform).
        powerdns_api_url=dict(type="str", fallback=(env_fallback, ["PDNS_SERVER_URL", "PDNS_API_URL"])),
        powerdns_api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["PDNS_API_KEY"])),
        powerdns_server_id=dict(type="str", default="localhost"),
        # Azure DNS: azure.azcollection's environment variables first, then azure-identity's.
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
        # Google Cloud DNS: the names of google.cloud's modules and gcloud's environment variables.
        gcp_project=dict(type="str", fallback=(env_fallback, ["GCP_PROJECT", "GOOGLE_CLOUD_PROJECT",
                                                              "CLOUDSDK_CORE_PROJECT"])),
        gcp_service_account_file=dict(type="path", fallback=(
            env_fallback, ["GCP_SERVICE_ACCOUNT_FILE", "GOOGLE_APPLICATION_CREDENTIALS"])),
        gcp_service_account_contents=dict(type="str", no_log=True,
                                          fallback=(env_fallback, ["GCP_SERVICE_ACCOUNT_CONTENTS"])),
        gcp_api_endpoint=dict(type="str", fallback=(env_fallback, ["CLOUDSDK_API_ENDPOINT_OVERRIDES_DNS"])),
        # dns-lexicon: the provider's own option names, handed to lexicon as given.
        lexicon_provider=dict(type="str"),
        lexicon_options=dict(type="dict", no_log=True, default={}),
        # A private CA for a hosted DNS API served with one (a lab, a TLS-inspecting proxy).
        ca_path=dict(type="path"),
        dns_host=dict(type="str", default="other", choices=list(manual.HOSTS)),
    )
    spec.update(fingerprint_argument_spec())
    return spec


PROVIDERS = ("rfc2136", "route53", "cloudflare", "powerdns", "azure", "google_cloud_dns", "lexicon", "manual")
CLOUDFLARE_URL = "https://api.cloudflare.com/client/v4"
REQUIRED_IF = [
    ("provider", "cloudflare", ["cloudflare_api_token"]),
    ("provider", "powerdns", ["powerdns_api_url", "powerdns_api_key"]),
    ("provider", "azure", ["azure_subscription_id"]),
    ("provider", "lexicon", ["lexicon_provider"]),
]


def build_engine(params, read_only=False):
    """Engine for the parameters; raises UnrouteError (one clear line) on bad input, before any DNS traffic."""
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
    kind = params.get("provider") or "rfc2136"
    if kind not in ("rfc2136", "manual"):
        provider = api_provider(kind, params)
    elif (read_only or kind == "manual") and not (params.get("server") or "").strip():
        from ansible_collections.mxhero.unroute.plugins.module_utils._dns.resolver import ResolverProvider
        provider = ResolverProvider(zone, timeout=params["timeout"])
    else:
        provider = rfc2136.Rfc2136Provider(
            zone, server=params.get("server"), port=params["port"], key_name=params.get("key_name"),
            key_secret=params.get("key_secret"), key_algorithm=params["key_algorithm"],
            protocol=params["protocol"], timeout=params["timeout"])
    engine = DnsEngine(provider, zone, fingerprint)
    if kind == "manual":
        engine.manual = lambda item, part: manual.steps(params.get("dns_host"), zone, item, part)
    return engine


def api_provider(kind, params):
    """The hosted-DNS provider named by ``provider``; a missing library is one line naming it."""
    zone = params["zone"]
    if kind == "route53":
        if not route53.HAS_BOTO3:
            raise UnrouteError(validate.domain_of(zone), None, missing_required_lib("boto3"))
        return route53.Route53Provider(
            zone, access_key=params.get("aws_access_key"), secret_key=params.get("aws_secret_key"),
            session_token=params.get("aws_session_token"), profile=params.get("aws_profile"),
            region=params.get("aws_region"), endpoint_url=params.get("aws_endpoint_url"),
            hosted_zone_id=params.get("hosted_zone_id"), private_zone=params.get("private_zone"),
            timeout=params["timeout"])
    if kind == "azure":
        from ansible_collections.mxhero.unroute.plugins.module_utils._dns import azure
        if not azure.HAS_AZURE:
            raise UnrouteError(validate.domain_of(zone), None,
                               missing_required_lib("azure-mgmt-dns and azure-identity"))
        return azure.AzureDnsProvider(
            zone, params["azure_subscription_id"], resource_group=params.get("azure_resource_group"),
            tenant_id=params.get("azure_tenant_id"), client_id=params.get("azure_client_id"),
            client_secret=params.get("azure_client_secret"),
            certificate_path=params.get("azure_client_certificate_path"),
            certificate_password=params.get("azure_client_certificate_password"), cloud=params.get("azure_cloud"),
            authority_host=params.get("azure_authority_host"),
            resource_manager_url=params.get("azure_resource_manager_url"), ca_path=params.get("ca_path"),
            timeout=params["timeout"])
    if kind == "google_cloud_dns":
        from ansible_collections.mxhero.unroute.plugins.module_utils._dns import google_cloud_dns as gcd
        if not gcd.HAS_GOOGLE:
            raise UnrouteError(validate.domain_of(zone), None,
                               missing_required_lib("google-api-python-client and google-auth"))
        return gcd.CloudDnsProvider(
            zone, project=params.get("gcp_project"), credentials_file=params.get("gcp_service_account_file"),
            credentials_data=params.get("gcp_service_account_contents"), api_endpoint=params.get("gcp_api_endpoint"),
            ca_path=params.get("ca_path"), timeout=params["timeout"])
    if kind == "lexicon":
        from ansible_collections.mxhero.unroute.plugins.module_utils._dns import lexicon
        if not lexicon.HAS_LEXICON:
            raise UnrouteError(validate.domain_of(zone), None, missing_required_lib("dns-lexicon"))
        return lexicon.LexiconProvider(zone, params["lexicon_provider"], params.get("lexicon_options") or {},
                                       timeout=params["timeout"])
    if not rest.HAS_REQUESTS:
        raise UnrouteError(validate.domain_of(zone), None, missing_required_lib("requests"))
    if kind == "cloudflare":
        return CloudflareProvider(zone, params["cloudflare_api_token"], params.get("cloudflare_api_url") or
                                  CLOUDFLARE_URL, timeout=params["timeout"])
    return PowerDnsProvider(zone, params["powerdns_api_url"], params["powerdns_api_key"],
                            server_id=params.get("powerdns_server_id") or "localhost", timeout=params["timeout"])


def check_options(params):
    """Every option the user typed, checked in the order a reader would fix them; nothing is resolved but the
    server's host name."""
    zone = params["zone"]
    validate.check_zone(zone)
    validate.check_records(zone, params.get("record") or None, params.get("records"))
    validate.check_port(zone, params["port"])
    validate.check_timeout(zone, params["timeout"])
    if (params.get("provider") or "rfc2136") in ("rfc2136", "manual"):
        validate.check_key(zone, params.get("key_name"), params.get("key_secret"), params["key_algorithm"])
    if (params.get("provider") or "rfc2136") == "azure":
        validate.check_cloud(zone, params.get("azure_cloud"))
    if params.get("dkim_selectors") is not None:
        validate.check_selectors(zone, params["dkim_selectors"])


def execute(params, ctx, operation, read_only=False):
    """Run ``operation(engine)``; the runner shapes the result (diff, warnings, scrubbing).

    Whatever escapes the engine leaves here as the one-line error, never as a library's bare message."""
    if (params.get("verify_timeout") or 0) < 0:
        # Refused before anything is read or written, like every other option.
        raise UnrouteError(validate.domain_of(params.get("zone")), "option verify_timeout",
                           "%d seconds is negative" % params["verify_timeout"],
                           "give the seconds to wait for every nameserver (0: ask each once)")
    try:
        engine = build_engine(params, read_only=read_only)
        outcome = operation(engine)
    except Exception as err:  # noqa: B902 - the module boundary: every failure is one line
        raise as_unroute_error(validate.domain_of(params.get("zone")), None, err)
    for text in engine.warnings:
        ctx.warn("%s: %s" % (validate.domain_of(params["zone"]), text))
    if "verify" in params:
        outcome = dict(outcome, verification=verification(params, ctx, engine, outcome))
    return outcome


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
    server = engine.provider.server if isinstance(engine.provider, rfc2136.Rfc2136Provider) else None
    results, warnings = verify.verify(zone, changes, port=params["port"], server=server, timeout=params["timeout"],
                                      verify_timeout=params["verify_timeout"])
    for text in warnings:
        ctx.warn("%s: %s" % (validate.domain_of(zone), text))
    return results


ARGSPEC = ArgSpec(dns_argument_spec(), required_if=REQUIRED_IF)
