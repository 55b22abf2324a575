# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exchange objects as remote PowerShell returns them, turned into the records the engine decides on.

Each field is read the way ``[string]`` / ``[bool]`` / ``[int]`` would cast it
in PowerShell, so a property an older Exchange lacks (None) becomes the
cmdlet's default, and the records keep the shape earlier releases returned.
A property the collection uses that arrived in a shape it cannot read
(``clixml.Unreadable``) is an error naming the cmdlet, the object and the
property, never an empty value: an empty SmartHosts would make an mxHero
connector look clean.
"""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.client import ExchangeError
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.clixml import Unreadable
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


class Reader(object):
    """The properties of one output object of ``cmdlet``, each checked before it is used."""

    def __init__(self, obj, cmdlet, kind):
        self.obj = obj
        self.cmdlet = cmdlet
        self.kind = kind
        name = obj.get("Name")
        self.label = "%s %s" % (kind, "" if isinstance(name, Unreadable) else text(name))

    def get(self, prop, required=False):
        if required and prop not in self.obj:
            # Every Exchange version since 2007 has the properties a decision rests on; without one the object
            # is not what the collection thinks it is, and reading it as empty would call it clean.
            raise ExchangeError("%s returned %s without a %s property" % (self.cmdlet, self.label.strip(), prop),
                                "nothing was changed; check that the account's role may read %s and that the "
                                "endpoint is Exchange's own remote PowerShell" % prop)
        value = self.obj.get(prop)
        if isinstance(value, list) and any(isinstance(v, Unreadable) for v in value):
            value = next(v for v in value if isinstance(v, Unreadable))
        if isinstance(value, Unreadable):
            raise ExchangeError(
                "%s returned %s of %s as %s, which this collection cannot read (%s)"
                % (self.cmdlet, prop, self.label.strip(), value.type_name, value.why),
                "nothing was changed (an unread %s could hide mxHero); check that object by hand and report the "
                "Exchange version and this message to the collection's maintainers" % prop)
        return value

    def text(self, prop, required=False):
        return text(self.get(prop, required))

    def flag(self, prop, required=False):
        return flag(self.get(prop, required))

    def texts(self, prop, required=False):
        return texts(self.get(prop, required))


def send_connector(obj):
    read = Reader(obj, "Get-SendConnector", "send connector")
    record = {
        "name": read.text("Name", required=True),
        "identity": read.text("Identity") or read.text("Name"),
        "enabled": read.flag("Enabled", required=True),
        "address_spaces": read.texts("AddressSpaces", required=True),
        "smart_hosts": read.texts("SmartHosts", required=True),
        "dns_routing_enabled": read.flag("DNSRoutingEnabled"),
        "source_transport_servers": read.texts("SourceTransportServers"),
        "fqdn": read.text("Fqdn"),
        "port": number(read.get("Port"), 25),
    }
    for key, prop in SETTING_PROPERTIES.items():
        record[key] = read.flag(prop) if key in BOOLEAN_SETTINGS else read.text(prop)
    return record


def receive_connector(obj):
    read = Reader(obj, "Get-ReceiveConnector", "receive connector")
    return {
        "name": read.text("Name", required=True),
        "identity": read.text("Identity") or read.text("Name"),
        "enabled": read.flag("Enabled"),
        "bindings": read.texts("Bindings"),
        "remote_ip_ranges": read.texts("RemoteIPRanges", required=True),
    }


def exchange_server(obj):
    read = Reader(obj, "Get-ExchangeServer", "server")
    return {
        "name": read.text("Name"),
        "fqdn": read.text("Fqdn"),
        "version": read.text("AdminDisplayVersion"),
    }


def pick_server(servers, host):
    """The server ``host`` names (by name or FQDN); the only server when there is one; else None."""
    wanted = str(host or "").lower().rstrip(".")
    for server in servers:
        if wanted and wanted in (server["name"].lower(), server["fqdn"].lower()):
            return server
    return servers[0] if len(servers) == 1 else None
