# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exchange Management Shell commands printed for a person: quoting, reinstall, recreate.

Nothing here is sent to a server (the shipped scripts take every name as data);
these are the lines a person pastes to undo a removal or to finish by hand, so
each must put the object back exactly as it was and never let a name become code.
"""

from __future__ import annotations

import re

# PowerShell's tokenizer treats the typographic single quotes as ' (as ansible-core's
# shell/powershell.py knows): inside '...' each of the five must be doubled.
SINGLE_QUOTES = u"'\u2018\u2019\u201a\u201b"

# The Windows service that loads each transport service's agents.
WINDOWS_SERVICE = {
    "Hub": "MSExchangeTransport",
    "Edge": "MSExchangeTransport",
    "FrontEnd": "MSExchangeFrontEndTransport",
    "MailboxSubmission": "MSExchangeSubmission",
    "MailboxDelivery": "MSExchangeDelivery",
}

# Send connector settings New-SendConnector takes, as get_state.ps1 reads them:
# (key, parameter, default). A setting at its default is left out of the command,
# which also keeps parameters a version lacks (e.g. FrontendProxyEnabled on 2010) out.
CONNECTOR_SETTINGS = (
    ("require_tls", "RequireTLS", False),
    ("tls_auth_level", "TlsAuthLevel", ""),
    ("tls_domain", "TlsDomain", ""),
    ("tls_certificate_name", "TlsCertificateName", ""),
    ("smart_host_auth_mechanism", "SmartHostAuthMechanism", "None"),
    ("protocol_logging_level", "ProtocolLoggingLevel", "None"),
    ("frontend_proxy_enabled", "FrontendProxyEnabled", False),
    ("use_external_dns_servers_enabled", "UseExternalDNSServersEnabled", False),
    ("ignore_starttls", "IgnoreSTARTTLS", False),
    ("domain_secure_enabled", "DomainSecureEnabled", False),
    ("connection_inactivity_timeout", "ConnectionInactivityTimeOut", "00:10:00"),
    ("comment", "Comment", ""),
)
# Authentication mechanisms whose password Exchange never gives back: the command asks for it.
CREDENTIAL_MECHANISMS = ("BasicAuth", "BasicAuthRequireTLS")


def quote(value):
    """A PowerShell single-quoted literal of ``value`` that stays one literal whatever it holds."""
    return "'%s'" % "".join(ch * 2 if ch in SINGLE_QUOTES else ch for ch in str(value))


def quote_list(values):
    return ",".join(quote(v) for v in values)


def boolean(value):
    return "$true" if value else "$false"


def reinstall_agent(agent, per_service):
    """Install, priority, enable (agents install disabled) and restart, each with -TransportService from 2013."""
    service = agent.get("transport_service")
    scope = " -TransportService %s" % service if per_service else ""
    name = quote(agent.get("identity"))
    steps = ["Install-TransportAgent -Name %s -TransportAgentFactory %s -AssemblyPath %s%s"
             % (name, quote(agent.get("factory")), quote(agent.get("assembly_path")), scope)]
    if agent.get("priority") is not None:
        steps.append("Set-TransportAgent -Identity %s -Priority %d%s" % (name, int(agent["priority"]), scope))
    if agent.get("enabled"):
        steps.append("Enable-TransportAgent -Identity %s%s" % (name, scope))
    steps.append("Restart-Service %s" % WINDOWS_SERVICE.get(service if per_service else "Hub", "MSExchangeTransport"))
    return "; ".join(steps)


def message_size(text):
    """'35 MB (36,700,160 bytes)' (MaxMessageSize as Exchange renders it) -> '35MB'; 'Unlimited' stays."""
    text = str(text or "").strip()
    if text.lower() == "unlimited":
        return "Unlimited"
    found = re.search(r"\(([\d.,'\s\u00a0\u202f]+) bytes\)", text)
    if not found:
        return None
    size = int(re.sub(r"\D", "", found.group(1)))
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size and size % factor == 0:
            return "%d%s" % (size // factor, unit)
    return "%dB" % size


def recreate_connector(connector):
    """New-SendConnector with every setting that differs from the cmdlet's defaults, plus the ones always shown."""
    parts = ["New-SendConnector -Name %s -Usage Custom" % quote(connector.get("name")),
             "-AddressSpaces %s" % quote_list(connector.get("address_spaces") or [])]
    hosts = connector.get("smart_hosts") or []
    if hosts:
        parts.append("-SmartHosts %s -DNSRoutingEnabled $false" % quote_list(hosts))
    else:
        parts.append("-DNSRoutingEnabled $true")
    if connector.get("source_transport_servers"):
        parts.append("-SourceTransportServers %s" % quote_list(connector["source_transport_servers"]))
    parts.append("-Enabled %s" % boolean(connector.get("enabled")))
    parts.append("-Port %d" % int(connector.get("port") or 25))
    if connector.get("fqdn"):
        parts.append("-Fqdn %s" % quote(connector["fqdn"]))
    size = message_size(connector.get("max_message_size"))
    if size:
        parts.append("-MaxMessageSize %s" % quote(size))
    for key, parameter, default in CONNECTOR_SETTINGS:
        value = connector.get(key)
        if value is None or value == default:
            continue
        parts.append("-%s %s" % (parameter, boolean(value) if isinstance(default, bool) else quote(value)))
    if connector.get("smart_host_auth_mechanism") in CREDENTIAL_MECHANISMS:
        parts.append("-AuthenticationCredential (Get-Credential)")
    return " ".join(parts)
