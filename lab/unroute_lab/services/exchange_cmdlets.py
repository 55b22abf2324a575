"""The Exchange cmdlets the lab's remote PowerShell endpoint knows, against the in-memory organisation.

A real Exchange /PowerShell/ endpoint runs each cmdlet under RBAC in a
NoLanguage runspace: only commands with typed parameters. Here each cmdlet is
a Python function over the ``Organization`` model of winrm_exchange.py that
returns the objects Exchange would write to the pipeline (adapted properties,
type names without the ``Deserialized.`` prefix the client adds) or raises
``CmdletError`` carrying Exchange's error record (exception type, message,
category, FullyQualifiedErrorId with the server and the cmdlet's task class).
Only the cmdlets and parameters listed in CMDLETS are emulated; any other
parameter is refused with PowerShell's binding error, never silently ignored.
"""

from __future__ import annotations

import datetime
import uuid

from psrpcore.types import ErrorCategory, PSList, PSNoteProperty, PSObject
from psrpcore.types._serializer import _serialize_string

from .winrm_exchange import VERSIONS

# Where the lab's organisations keep their directory (named in Exchange's "couldn't be found on" errors).
DOMAIN_CONTROLLER = "DC01.%s"
# Parameters every cmdlet takes ([CmdletBinding()] common parameters plus Exchange's own).
COMMON = {"ErrorAction", "WarningAction", "Verbose", "Debug", "DomainController", "Confirm", "WhatIf"}


class CmdletError(Exception):
    """One error record: ``terminating`` fails the pipeline, otherwise it is written to the error stream."""

    def __init__(self, message, exception_type, category, reason, error_id, target=None, terminating=False):
        super(CmdletError, self).__init__(message)
        self.message = message
        self.exception_type = exception_type
        self.category = category
        self.reason = reason
        self.error_id = error_id
        self.target = target
        self.terminating = terminating


def exchange_object(type_names, to_string, props):
    obj = PSObject()
    obj.PSObject.type_names = list(type_names) + ["System.Object"]
    # PowerShell encodes <ToString> like any string (_x000D_ for CR...); psrpcore writes it raw, and XML would
    # turn a CR in a name into LF on the way.
    obj.PSObject.to_string = _serialize_string(to_string)
    for name, value in props.items():
        obj.PSObject.adapted_properties.append(PSNoteProperty(name, value))
    return obj


# Item types of the multi-valued properties the lab sends, as the cmdlets' .NET types name them
# (SmartHosts MultiValuedProperty<SmartHost>, AddressSpaces MultiValuedProperty<AddressSpace>, ...), with their
# assembly. Microsoft.Exchange.Data.Directory is the assembly of ADObjectId in a Get-Mailbox capture from
# Exchange 2016; the others are taken to live in Microsoft.Exchange.Data beside ProxyAddress (same capture).
ITEM_TYPES = {
    "SmartHost": "Microsoft.Exchange.Data.SmartHost, Microsoft.Exchange.Data",
    "AddressSpace": "Microsoft.Exchange.Data.AddressSpace, Microsoft.Exchange.Data",
    "ADObjectId": "Microsoft.Exchange.Data.Directory.ADObjectId, Microsoft.Exchange.Data.Directory",
    "IPBinding": "Microsoft.Exchange.Data.IPBinding, Microsoft.Exchange.Data",
    "IPRange": "Microsoft.Exchange.Data.IPRange, Microsoft.Exchange.Data",
}
PUBLIC_KEY_TOKEN = "31bf3856ad364e35"


def multi_valued(item_type, values, version="2019"):
    """Exchange's MultiValuedProperty<T> as its remote PowerShell serialises it.

    ``<Obj><TN><T>Microsoft.Exchange.Data.MultiValuedProperty`1[[<item type>, <assembly>, Version=...,
    Culture=neutral, PublicKeyToken=...]]</T><T>Microsoft.Exchange.Data.MultiValuedPropertyBase</T>
    <T>System.Object</T></TN><LST>...</LST></Obj>``, no ``<ToString>``, items as ``<S>`` (their text: the
    items are nested one level deeper than the serialisation depth). A repeated item type goes as ``<TNRef>``.
    """
    assembly_version = "14.0.0.0" if version == "2010" else "15.0.0.0"
    qualified = "%s, Version=%s, Culture=neutral, PublicKeyToken=%s" % (ITEM_TYPES[item_type], assembly_version,
                                                                       PUBLIC_KEY_TOKEN)
    prop = PSList([str(v) for v in values])
    prop.PSObject.type_names = ["Microsoft.Exchange.Data.MultiValuedProperty`1[[%s]]" % qualified,
                                "Microsoft.Exchange.Data.MultiValuedPropertyBase", "System.Object"]
    return prop


def directory_ids(text, org, container="CN=Connections,CN=Exchange Routing Group (DWBGZMFD01QNBJR),CN=Routing Groups"):
    """Identity, DistinguishedName and Guid of a directory object.

    An ADObjectId property goes as ``<S>`` with its text (``<S N="Identity">test.com/Users/Administrator</S>``
    in the Exchange 2016 Get-Mailbox capture), the distinguished name as ``<S>`` and the Guid as ``<G>``.
    """
    leaf = text.rsplit("\\", 1)[-1]
    return {"Identity": text,
            "DistinguishedName": "CN=%s,%s,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative "
                                 "Groups,CN=%s,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=%s"
                                 % (leaf, container, org.name, ",DC=".join(org.domain.split("."))),
            "Guid": uuid.uuid5(uuid.NAMESPACE_URL, org.domain + "/" + text)}


class Session(object):
    """Runs one command of a pipeline against ``server`` (the endpoint's own server) of its organisation."""

    def __init__(self, server, cmdlet_fault=None):
        self.server = server
        self.org = server.org
        self.cmdlet_fault = cmdlet_fault or (lambda server_name, cmdlet: None)

    # -- binding ---------------------------------------------------------------
    def run(self, name, parameters):
        """Objects written by cmdlet ``name`` called with [(parameter name or None, value)]."""
        spec = CMDLETS.get(name.lower())
        if spec is None:
            raise not_recognized(name)
        canonical, handler, accepted = spec
        bound = {}
        for key, value in parameters:
            if key is None:
                key = "Identity"  # position 0 of every emulated cmdlet
            match = [p for p in set(accepted) | COMMON if p.lower() == key.lower()]
            if not match:
                raise CmdletError("A parameter cannot be found that matches parameter name '%s'." % key,
                                  "System.Management.Automation.ParameterBindingException",
                                  ErrorCategory.InvalidArgument, "ParameterBindingException",
                                  "NamedParameterNotFound,%s" % TASK_CLASS[canonical], target=key,
                                  terminating=True)
            bound[match[0]] = value
        message = self.cmdlet_fault(self.server.name, canonical)
        if message:
            raise self.not_found(canonical, str(bound.get("Identity", "")), message)
        return handler(self, canonical, bound)

    def boolean(self, canonical, name, value):
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return bool(value)
        raise CmdletError("Cannot process argument transformation on parameter '%s'. Cannot convert value "
                          "\"%s\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and "
                          "numbers, such as $True, $False, 1 or 0." % (name, type(value).__name__ == "str" and
                                                                      "System.String" or value),
                          "System.Management.Automation.ParameterBindingArgumentTransformationException",
                          ErrorCategory.InvalidData, "ParameterBindingArgumentTransformationException",
                          "ParameterArgumentTransformationError,%s" % TASK_CLASS[canonical], target=name,
                          terminating=True)

    def not_found(self, canonical, identity, message=None):
        text = message or ("The operation couldn't be performed because object '%s' couldn't be found on '%s'."
                           % (identity, DOMAIN_CONTROLLER % self.org.domain))
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%-m/%-d/%Y %-I:%M:%S %p")
        return CmdletError(
            text.replace("{target}", identity),
            "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
            ErrorCategory.NotSpecified, "ManagementObjectNotFoundException",
            "[Server=%s,RequestId=%s,TimeStamp=%s] [FailureCategory=Cmdlet-ManagementObjectNotFoundException] "
            "%s,%s" % (self.server.name, uuid.uuid4(), stamp, "D0D2F5A1", TASK_CLASS[canonical]),
            target=identity)

    def confirm(self, canonical, bound, what):
        # No host UI over this endpoint: a cmdlet that asks for confirmation fails unless -Confirm:$false.
        if bound.get("Confirm") is not False and not bound.get("WhatIf"):
            raise CmdletError("A command that prompts the user failed because the host program or the command type "
                              "does not support user interaction. The host was attempting to request confirmation "
                              "with the following message: Are you sure you want to perform this action?\n%s" % what,
                              "System.Management.Automation.Host.HostException", ErrorCategory.NotSpecified,
                              "HostException", "HostFunctionNotImplemented,%s" % TASK_CLASS[canonical],
                              terminating=True)

    # -- objects -----------------------------------------------------------------
    def server_object(self, server):
        fqdn = "%s.%s" % (server.name.lower(), self.org.domain)
        props = dict(directory_ids(server.name, self.org, "CN=Servers"), **{
            "Name": server.name, "Fqdn": fqdn, "AdminDisplayVersion": VERSIONS[server.version],
            "Edition": "Standard", "ServerRole": "Edge" if server.role == "edge" else "Mailbox",
            "IsEdgeServer": server.role == "edge",
            "IsHubTransportServer": server.role != "edge",
            "IsFrontendTransportServer": server.role != "edge" and server.version != "2010",
            "IsMailboxServer": server.role != "edge"})
        return exchange_object(["Microsoft.Exchange.Data.Directory.Management.ExchangeServer",
                                "Microsoft.Exchange.Data.Directory.ADObject"], server.name, props)

    def send_object(self, connector):
        version = self.server.version
        props = dict(directory_ids(connector["name"], self.org), **{
            "Name": connector["name"], "Enabled": connector["enabled"],
            "AddressSpaces": multi_valued("AddressSpace", connector["address_spaces"], version),
            "SmartHosts": multi_valued("SmartHost", connector["smart_hosts"], version),
            "DNSRoutingEnabled": connector["dns_routing_enabled"],
            "SourceTransportServers": multi_valued("ADObjectId", connector["source_transport_servers"], version),
            "Fqdn": connector["fqdn"] or None, "Port": connector["port"],
            "RequireTLS": connector["require_tls"], "TlsAuthLevel": connector["tls_auth_level"] or None,
            "TlsDomain": connector["tls_domain"] or None, "TlsCertificateName": connector["tls_certificate_name"] or None,
            "MaxMessageSize": connector["max_message_size"],
            "SmartHostAuthMechanism": connector["smart_host_auth_mechanism"],
            "ProtocolLoggingLevel": connector["protocol_logging_level"],
            "FrontendProxyEnabled": connector["frontend_proxy_enabled"],
            "UseExternalDNSServersEnabled": connector["use_external_dns_servers_enabled"],
            "IgnoreSTARTTLS": connector["ignore_starttls"], "DomainSecureEnabled": connector["domain_secure_enabled"],
            "ConnectionInactivityTimeOut": connector["connection_inactivity_timeout"],
            "Comment": connector["comment"] or None,
        })
        return exchange_object(["Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig",
                                "Microsoft.Exchange.Data.Directory.SystemConfiguration.SendConnector",
                                "Microsoft.Exchange.Data.Directory.ADObject"], connector["name"], props)

    def receive_object(self, server, connector):
        return exchange_object(
            ["Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector",
             "Microsoft.Exchange.Data.Directory.ADObject"], connector["identity"],
            dict(directory_ids(connector["identity"], self.org, "CN=Protocols,CN=%s,CN=Servers" % server.name),
                 Name=connector["name"], Server=server.name, Enabled=connector["enabled"],
                 Bindings=multi_valued("IPBinding", connector["bindings"], server.version),
                 RemoteIPRanges=multi_valued("IPRange", connector["remote_ip_ranges"], server.version)))

    def find_connector(self, canonical, identity):
        text = str(identity)
        for connector in self.org.send_connectors:
            if connector["name"].lower() == text.lower():
                return connector
        raise self.not_found(canonical, text)


def _identity(bound):
    value = bound.get("Identity")
    return None if value is None else str(value)


def get_exchange_server(session, canonical, bound):
    identity = _identity(bound)
    servers = list(session.org.servers.values())
    if identity is None:
        return [session.server_object(s) for s in servers]
    key = identity.split(".", 1)[0].upper()
    if key in session.org.servers:
        return [session.server_object(session.org.servers[key])]
    raise session.not_found(canonical, identity)


def get_send_connector(session, canonical, bound):
    identity = _identity(bound)
    if identity is None:
        return [session.send_object(c) for c in session.org.send_connectors]
    return [session.send_object(session.find_connector(canonical, identity))]


def set_send_connector(session, canonical, bound):
    identity = _identity(bound)
    if identity is None:
        raise missing_identity(canonical)
    connector = session.find_connector(canonical, identity)
    if "Enabled" in bound and not bound.get("WhatIf"):
        connector["enabled"] = session.boolean(canonical, "Enabled", bound["Enabled"])
    return []


def remove_send_connector(session, canonical, bound):
    identity = _identity(bound)
    if identity is None:
        raise missing_identity(canonical)
    connector = session.find_connector(canonical, identity)
    session.confirm(canonical, bound, 'Removing send connector "%s".' % connector["name"])
    if not bound.get("WhatIf"):
        session.org.send_connectors.remove(connector)
    return []


def get_receive_connector(session, canonical, bound):
    identity = _identity(bound)
    servers = list(session.org.servers.values())
    if bound.get("Server") is not None:
        key = str(bound["Server"]).split(".", 1)[0].upper()
        if key not in session.org.servers:
            raise session.not_found(canonical, str(bound["Server"]))
        servers = [session.org.servers[key]]
    out = []
    for server in servers:
        for connector in server.receive_connectors:
            if identity is None or identity.lower() in (connector["identity"].lower(), connector["name"].lower()):
                out.append(session.receive_object(server, connector))
    if identity is not None and not out:
        raise session.not_found(canonical, identity)
    return out


def missing_identity(canonical):
    return CmdletError("Cannot process command because of one or more missing mandatory parameters: Identity.",
                       "System.Management.Automation.ParameterBindingException", ErrorCategory.InvalidArgument,
                       "ParameterBindingException", "MissingMandatoryParameter,%s" % TASK_CLASS[canonical],
                       terminating=True)


def not_recognized(name):
    return CmdletError("The term '%s' is not recognized as the name of a cmdlet, function, script file, or operable "
                       "program. Check the spelling of the name, or if a path was included, verify that the path is "
                       "correct and try again." % name, "System.Management.Automation.CommandNotFoundException",
                       ErrorCategory.ObjectNotFound, "CommandNotFoundException", "CommandNotFoundException",
                       target=name, terminating=True)


# The .NET task class behind each cmdlet (the tail of Exchange's FullyQualifiedErrorId).
TASK_CLASS = {
    "Get-ExchangeServer": "Microsoft.Exchange.Management.SystemConfigurationTasks.GetExchangeServer",
    "Get-SendConnector": "Microsoft.Exchange.Management.SystemConfigurationTasks.GetSendConnector",
    "Set-SendConnector": "Microsoft.Exchange.Management.SystemConfigurationTasks.SetSendConnector",
    "Remove-SendConnector": "Microsoft.Exchange.Management.SystemConfigurationTasks.RemoveSendConnector",
    "Get-ReceiveConnector": "Microsoft.Exchange.Management.SystemConfigurationTasks.GetReceiveConnector",
}
# lower-case name: (canonical name, handler, parameters emulated besides COMMON)
CMDLETS = {
    "get-exchangeserver": ("Get-ExchangeServer", get_exchange_server, {"Identity"}),
    "get-sendconnector": ("Get-SendConnector", get_send_connector, {"Identity"}),
    "set-sendconnector": ("Set-SendConnector", set_send_connector, {"Identity", "Enabled"}),
    "remove-sendconnector": ("Remove-SendConnector", remove_send_connector, {"Identity"}),
    "get-receiveconnector": ("Get-ReceiveConnector", get_receive_connector, {"Identity", "Server"}),
}
