"""Exchange objects in the shape a real server sends them, through pypsrp's deserializer and the collection's parser.

The CLIXML here is written by hand from public descriptions, never produced by the lab's emulator:

- Multi-valued properties: ``<Obj N="..."><TN><T>Microsoft.Exchange.Data.MultiValuedProperty`1[[<item type>,
  ...]]</T><T>Microsoft.Exchange.Data.MultiValuedPropertyBase</T><T>System.Object</T></TN><LST>...</LST></Obj>``
  with no ``<ToString>``; items as ``<S>``; a repeated type as ``<TNRef>``; stored directory attributes with
  ``Microsoft.Exchange.Data.Directory.ADMultiValuedProperty`1`` first; ``EmailAddresses`` as
  ``ProxyAddressCollection`` (Get-Mailbox from Exchange 2016 15.1 build 2507.6 through pypsrp, printed in
  3gstudent's "pypsrp在Exchange Powershell下的优化", 2022-10-01).
- Single-valued properties as the same capture shows them: the object's ``<ToString>`` and ``<Props>``;
  ``<B>`` for booleans, ``<Nil>`` for an unset nullable value, enums (flags too, e.g. ``ExchangeUserAccountControl``)
  and Exchange value types (``AdminDisplayVersion``, ``Identity`` as an ADObjectId, sizes, time spans) as ``<S>``
  with their text.
- Item and property types from the cmdlet references (SmartHosts MultiValuedProperty<SmartHost>, AddressSpaces
  MultiValuedProperty<AddressSpace>, SourceTransportServers MultiValuedProperty<ADObjectId>, Bindings
  MultiValuedProperty<IPBinding>, RemoteIPRanges MultiValuedProperty<IPRange>, SmartHostAuthMechanism
  AuthMechanisms).
"""

from __future__ import annotations

import pytest
from pypsrp.serializer import Serializer

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import objects, remote
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.client import ExchangeError
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.engine import Engine
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint

DATA = "Microsoft.Exchange.Data, Version=15.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35"
DIRECTORY = "Microsoft.Exchange.Data.Directory, Version=15.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35"


class Refs(object):
    """RefIds as a serializer hands them out: objects and type lists counted separately, repeats as TNRef."""

    def __init__(self):
        self.obj = 0
        self.tn = {}

    def next_obj(self):
        self.obj += 1
        return self.obj

    def tn_xml(self, names):
        key = tuple(names)
        if key in self.tn:
            return '<TNRef RefId="%d" />' % self.tn[key]
        self.tn[key] = len(self.tn)
        return '<TN RefId="%d">%s</TN>' % (self.tn[key], "".join("<T>%s</T>" % n for n in names))


def mvp(refs, name, item_type, items, ad=False, raw_items=None):
    names = ["Microsoft.Exchange.Data.MultiValuedProperty`1[[%s]]" % item_type,
             "Microsoft.Exchange.Data.MultiValuedPropertyBase", "System.Object"]
    if ad:
        names.insert(0, "Microsoft.Exchange.Data.Directory.ADMultiValuedProperty`1[[%s]]" % item_type)
    body = raw_items if raw_items is not None else "".join("<S>%s</S>" % i for i in items)
    lst = "<LST>%s</LST>" % body if body else "<LST />"
    return '<Obj N="%s" RefId="%d">%s%s</Obj>' % (name, refs.next_obj(), refs.tn_xml(names), lst)


def exchange_object(refs, type_names, to_string, props):
    return '<Obj RefId="0">%s<ToString>%s</ToString><Props>%s</Props></Obj>' % (
        refs.tn_xml(list(type_names) + ["System.Object"]), to_string, "".join(props))


def send_connector_xml(name="Outbound via mxHero", smart_hosts=("smtp.mxhero.com", "[54.208.111.28]"),
                       address_spaces=("SMTP:*;1",), smart_hosts_items=None, auth="None", fqdn="mail.contoso.com"):
    refs = Refs()
    props = [
        '<S N="Name">%s</S>' % name,
        '<S N="Identity">%s</S>' % name,
        '<B N="Enabled">true</B>',
        mvp(refs, "AddressSpaces", "Microsoft.Exchange.Data.AddressSpace, " + DATA, address_spaces, ad=True),
        mvp(refs, "SmartHosts", "Microsoft.Exchange.Data.SmartHost, " + DATA, smart_hosts, raw_items=smart_hosts_items),
        '<B N="DNSRoutingEnabled">false</B>',
        mvp(refs, "SourceTransportServers", "Microsoft.Exchange.Data.Directory.ADObjectId, " + DIRECTORY, ["EX01"],
            ad=True),
        mvp(refs, "ConnectedDomains", "Microsoft.Exchange.Data.AddressSpace, " + DATA, []),
        '<S N="Fqdn">%s</S>' % fqdn if fqdn else '<Nil N="Fqdn" />',
        '<I32 N="Port">25</I32>',
        '<B N="RequireTLS">true</B>',
        '<S N="TlsAuthLevel">DomainValidation</S>',
        '<S N="TlsDomain">mxhero.com</S>',
        '<Nil N="TlsCertificateName" />',
        '<S N="MaxMessageSize">35 MB (36,700,160 bytes)</S>',
        '<S N="SmartHostAuthMechanism">%s</S>' % auth,
        '<S N="ProtocolLoggingLevel">Verbose</S>',
        '<B N="FrontendProxyEnabled">false</B>',
        '<B N="UseExternalDNSServersEnabled">false</B>',
        '<B N="IgnoreSTARTTLS">false</B>',
        '<B N="DomainSecureEnabled">false</B>',
        '<S N="ConnectionInactivityTimeOut">00:10:00</S>',
        '<S N="Comment">relay_x000D__x000A_through mxHero &amp; co</S>',
        '<S N="AdminDisplayVersion">Version 15.1 (Build 2507.6)</S>',
    ]
    return exchange_object(refs, ["Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig",
                                  "Microsoft.Exchange.Data.Directory.SystemConfiguration.SendConnector",
                                  "Microsoft.Exchange.Data.Directory.SystemConfiguration.MailGateway",
                                  "Microsoft.Exchange.Data.Directory.ADLegacyVersionableObject",
                                  "Microsoft.Exchange.Data.Directory.ADConfigurationObject",
                                  "Microsoft.Exchange.Data.Directory.ADObject",
                                  "Microsoft.Exchange.Data.Directory.ADRawEntry",
                                  "Microsoft.Exchange.Data.ConfigurableObject"], name, props)


def receive_connector_xml(ranges=("54.208.111.28", "10.0.0.0/8", "0.0.0.0-255.255.255.255")):
    refs = Refs()
    props = [
        '<S N="Name">From mxHero</S>',
        '<S N="Identity">EX01\\From mxHero</S>',
        '<S N="Server">EX01</S>',
        '<B N="Enabled">true</B>',
        '<S N="AuthMechanism">Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer</S>',
        mvp(refs, "Bindings", "Microsoft.Exchange.Data.IPBinding, " + DATA, ["0.0.0.0:25", "[::]:25"]),
        mvp(refs, "RemoteIPRanges", "Microsoft.Exchange.Data.IPRange, " + DATA, ranges),
        '<S N="Fqdn">ex01.contoso.com</S>',
    ]
    return exchange_object(refs, ["Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector",
                                  "Microsoft.Exchange.Data.Directory.ADConfigurationObject",
                                  "Microsoft.Exchange.Data.Directory.ADObject"], "EX01\\From mxHero", props)


def server_xml():
    refs = Refs()
    props = ['<S N="Name">EX01</S>', '<S N="Fqdn">ex01.contoso.com</S>',
             '<S N="AdminDisplayVersion">Version 15.1 (Build 2507.6)</S>', '<S N="Identity">EX01</S>',
             '<S N="ServerRole">Mailbox, ClientAccess</S>']
    return exchange_object(refs, ["Microsoft.Exchange.Data.Directory.Management.ExchangeServer",
                                  "Microsoft.Exchange.Data.Directory.ADObject"], "EX01", props)


def received(xml):
    """What the collection gets for one PIPELINE_OUTPUT message: pypsrp's deserialised object, made plain."""
    return remote.as_dict(Serializer().deserialize(xml))


def test_pypsrp_keeps_the_real_list_as_raw_clixml():
    # The premise of the parser: pypsrp 0.9 does not read MultiValuedProperty`1 as a list.
    obj = Serializer().deserialize(send_connector_xml())
    hosts = obj.adapted_properties["SmartHosts"]
    assert "Microsoft.Exchange.Data.MultiValuedPropertyBase" in hosts.types and hosts.to_string is None
    assert hosts.property_sets == ["<LST><S>smtp.mxhero.com</S><S>[54.208.111.28]</S></LST>"]


def test_send_connector_in_exchanges_shape_reads_every_property_it_uses():
    record = objects.send_connector(received(send_connector_xml()))
    assert record["smart_hosts"] == ["smtp.mxhero.com", "[54.208.111.28]"]
    assert record["address_spaces"] == ["SMTP:*;1"]
    assert record["source_transport_servers"] == ["EX01"]
    assert record["name"] == record["identity"] == "Outbound via mxHero"
    assert record["enabled"] is True and record["dns_routing_enabled"] is False and record["port"] == 25
    assert record["fqdn"] == "mail.contoso.com" and record["require_tls"] is True
    assert record["tls_auth_level"] == "DomainValidation" and record["tls_domain"] == "mxhero.com"
    assert record["tls_certificate_name"] == "" and record["max_message_size"] == "35 MB (36,700,160 bytes)"
    assert record["protocol_logging_level"] == "Verbose" and record["connection_inactivity_timeout"] == "00:10:00"
    assert record["comment"] == "relay\r\nthrough mxHero & co"


def test_flags_enum_and_unset_fqdn_read_as_text():
    record = objects.send_connector(received(send_connector_xml(auth="BasicAuth, ExchangeServer", fqdn=None)))
    assert record["smart_host_auth_mechanism"] == "BasicAuth, ExchangeServer" and record["fqdn"] == ""


def test_enum_serialised_as_an_object_reads_as_its_text():
    # PowerShell's own enum serialisation (an object with <ToString> and the number) is read the same way as the
    # <S> Exchange's capture shows.
    enum = ('<Obj N="SmartHostAuthMechanism" RefId="40"><TN RefId="40">'
            '<T>Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig+AuthMechanisms</T>'
            '<T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN>'
            '<ToString>BasicAuth, ExchangeServer</ToString><I32>6</I32></Obj>')
    xml = send_connector_xml().replace('<S N="SmartHostAuthMechanism">None</S>', enum)
    assert objects.send_connector(received(xml))["smart_host_auth_mechanism"] == "BasicAuth, ExchangeServer"


def test_empty_multi_valued_property_is_an_empty_list():
    record = objects.send_connector(received(send_connector_xml(smart_hosts=(), address_spaces=("SMTP:*;1",))))
    assert record["smart_hosts"] == [] and record["address_spaces"] == ["SMTP:*;1"]


def test_items_sent_as_objects_read_as_their_text():
    items = ('<Obj RefId="9"><TN RefId="9"><T>Microsoft.Exchange.Data.SmartHost</T><T>System.Object</T></TN>'
             '<ToString>smtp.mxhero.com</ToString><Props><S N="Domain">smtp.mxhero.com</S>'
             '<B N="IsIPAddress">false</B></Props></Obj><S>relay.other.example</S>')
    record = objects.send_connector(received(send_connector_xml(smart_hosts_items=items)))
    assert record["smart_hosts"] == ["smtp.mxhero.com", "relay.other.example"]


def test_receive_connector_and_server_in_exchanges_shape():
    record = objects.receive_connector(received(receive_connector_xml()))
    assert record["remote_ip_ranges"] == ["54.208.111.28", "10.0.0.0/8", "0.0.0.0-255.255.255.255"]
    assert record["bindings"] == ["0.0.0.0:25", "[::]:25"]
    assert record["identity"] == "EX01\\From mxHero" and record["enabled"] is True
    server = objects.exchange_server(received(server_xml()))
    assert server == {"name": "EX01", "fqdn": "ex01.contoso.com", "version": "Version 15.1 (Build 2507.6)"}


def test_email_addresses_collection_reads_as_a_list():
    refs = Refs()
    names = ["Microsoft.Exchange.Data.ProxyAddressCollection",
             "Microsoft.Exchange.Data.ProxyAddressBaseCollection`1[[Microsoft.Exchange.Data.ProxyAddress, %s]]" % DATA,
             "Microsoft.Exchange.Data.MultiValuedProperty`1[[Microsoft.Exchange.Data.ProxyAddress, %s]]" % DATA,
             "Microsoft.Exchange.Data.MultiValuedPropertyBase", "System.Object"]
    xml = exchange_object(refs, ["Microsoft.Exchange.Data.Directory.Management.Mailbox"], "Administrator", [
        '<Obj N="EmailAddresses" RefId="1">%s<LST><S>SMTP:Administrator@test.com</S><S>smtp:a@test.com</S></LST>'
        '</Obj>' % refs.tn_xml(names)])
    assert received(xml)["EmailAddresses"] == ["SMTP:Administrator@test.com", "smtp:a@test.com"]


UNREADABLE_ITEMS = [
    # An item object without <ToString>: its text is unknown.
    '<Obj RefId="9"><TN RefId="9"><T>Microsoft.Exchange.Data.SmartHost</T><T>System.Object</T></TN>'
    '<Props><S N="Domain">smtp.mxhero.com</S></Props></Obj>',
    # A reference to an object serialised outside the list.
    '<Ref RefId="0" />',
    # A secure string or bytes are no host names.
    '<BA>c210cC5teGhlcm8uY29t</BA>',
]


@pytest.mark.parametrize("items", UNREADABLE_ITEMS)
def test_unreadable_multi_valued_property_is_an_error_naming_it(items):
    raw = received(send_connector_xml(smart_hosts_items=items))
    with pytest.raises(ExchangeError) as err:
        objects.send_connector(raw)
    text = str(err.value.cause)
    assert "SmartHosts" in text and "Outbound via mxHero" in text and "Get-SendConnector" in text


def test_unknown_complex_value_without_text_is_an_error_only_where_it_is_used():
    refs = Refs()
    odd = ('<Obj N="%s" RefId="5"><TN RefId="7"><T>Microsoft.Exchange.Data.Something</T><T>System.Object</T></TN>'
           '<Props><S N="X">y</S></Props></Obj>')
    xml = exchange_object(refs, ["Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector"], "R", [
        '<S N="Name">R</S>', '<B N="Enabled">true</B>', odd % "RemoteIPRanges",
        mvp(refs, "Bindings", "Microsoft.Exchange.Data.IPBinding, " + DATA, ["0.0.0.0:25"]),
        '<Obj N="Unused" RefId="6"><TNRef RefId="7" /><Props><S N="X">y</S></Props></Obj>'])
    raw = received(xml)
    with pytest.raises(ExchangeError) as err:
        objects.receive_connector(raw)
    assert "RemoteIPRanges" in str(err.value.cause) and "receive connector R" in str(err.value.cause)
    # A property the collection never reads may be in any shape: reading the object did not fail on it.
    assert "Unused" in raw


@pytest.mark.parametrize("prop", ["SmartHosts", "AddressSpaces", "Enabled"])
def test_a_missing_property_a_decision_rests_on_is_an_error(prop):
    raw = received(send_connector_xml())
    del raw[prop]
    with pytest.raises(ExchangeError) as err:
        objects.send_connector(raw)
    assert "without a %s property" % prop in err.value.cause and "Outbound via mxHero" in err.value.cause


def test_unset_optional_properties_read_as_the_cmdlet_defaults():
    raw = received(send_connector_xml())
    for prop in ("Fqdn", "TlsDomain", "FrontendProxyEnabled", "Comment"):
        del raw[prop]
    record = objects.send_connector(raw)
    assert record["fqdn"] == "" and record["tls_domain"] == "" and record["frontend_proxy_enabled"] is False


class FakeShell(object):
    host = "ex01.contoso.com"
    where = "https://ex01.contoso.com:443/PowerShell/"

    def __init__(self, outputs):
        self.outputs = outputs
        self.calls = []

    def invoke(self, cmdlet, parameters=(), write=False):
        self.calls.append((cmdlet, list(parameters)))
        if write:
            return []
        return [received(x) for x in self.outputs.get(cmdlet, [])]


def engine(outputs):
    return Engine(None, Fingerprint(), domain="contoso.com", check_mode=True, shell=FakeShell(outputs))


def test_engine_finds_the_mxhero_connector_sent_in_exchanges_shape():
    eng = engine({"Get-SendConnector": [send_connector_xml(),
                                        send_connector_xml(name="Internet", smart_hosts=(),
                                                           address_spaces=("SMTP:*;10",))],
               "Get-ExchangeServer": [server_xml()]})
    out = eng.send_connectors("absent")
    actions = {f["object"]: f["action"] for f in out["findings"]}
    assert actions == {"send connector Outbound via mxHero": "would_remove"}
    assert out["changed"] is True


def test_engine_refuses_a_connector_it_cannot_read_instead_of_calling_it_clean():
    eng = engine({"Get-SendConnector": [send_connector_xml(smart_hosts_items=UNREADABLE_ITEMS[0])],
                  "Get-ExchangeServer": [server_xml()]})
    with pytest.raises(UnrouteError) as err:
        eng.send_connectors("absent")
    assert "SmartHosts" in str(err.value) and "contoso.com" in str(err.value)
