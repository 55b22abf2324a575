# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exchange objects as remote PowerShell returns them, turned into the records the engine decides on.

Each field is read the way ``[string]`` / ``[bool]`` / ``[int]`` would cast it
in PowerShell, so a property an older Exchange lacks (None) becomes the
cmdlet's default, and the records keep the shape earlier releases returned.
"""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.commands import CONNECTOR_SETTINGS

# Record key -> Exchange property, for the settings New-SendConnector takes (see commands.CONNECTOR_SETTINGS).
SETTING_PROPERTIES = {key: parameter for key, parameter, _default in CONNECTOR_SETTINGS}
SETTING_PROPERTIES["max_message_size"] = "MaxMessageSize"
BOOLEAN_SETTINGS = set(key for key, _parameter, default in CONNECTOR_SETTINGS if isinstance(default, bool))


def text(value):
    return "" if value is None else str(value)


def flag(value):
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def number(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def texts(value):
    if value is None:
        return []
    if not isinstance(value, list):
        value = [value]
    return [str(v) for v in value if v is not None]


def send_connector(obj):
    record = {
        "name": text(obj.get("Name")),
        "identity": text(obj.get("Identity")) or text(obj.get("Name")),
        "enabled": flag(obj.get("Enabled")),
        "address_spaces": texts(obj.get("AddressSpaces")),
        "smart_hosts": texts(obj.get("SmartHosts")),
        "dns_routing_enabled": flag(obj.get("DNSRoutingEnabled")),
        "source_transport_servers": texts(obj.get("SourceTransportServers")),
        "fqdn": text(obj.get("Fqdn")),
        "port": number(obj.get("Port"), 25),
    }
    for key, prop in SETTING_PROPERTIES.items():
        value = obj.get(prop)
        record[key] = flag(value) if key in BOOLEAN_SETTINGS else text(value)
    return record


def receive_connector(obj):
    return {
        "name": text(obj.get("Name")),
        "identity": text(obj.get("Identity")) or text(obj.get("Name")),
        "enabled": flag(obj.get("Enabled")),
        "bindings": texts(obj.get("Bindings")),
        "remote_ip_ranges": texts(obj.get("RemoteIPRanges")),
    }


def exchange_server(obj):
    return {
        "name": text(obj.get("Name")),
        "fqdn": text(obj.get("Fqdn")),
        "version": text(obj.get("AdminDisplayVersion")),
    }


def pick_server(servers, host):
    """The server ``host`` names (by name or FQDN); the only server when there is one; else None."""
    wanted = str(host or "").lower().rstrip(".")
    for server in servers:
        if wanted and wanted in (server["name"].lower(), server["fqdn"].lower()):
            return server
    return servers[0] if len(servers) == 1 else None
