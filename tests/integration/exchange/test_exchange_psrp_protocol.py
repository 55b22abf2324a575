"""The lab's Exchange remote PowerShell against [MS-PSRP] itself: hand-built fragments and messages, no PSRP library.

The SESSION_CAPABILITY, INIT_RUNSPACEPOOL and CREATE_PIPELINE bodies follow the
examples of [MS-PSRP] 2.2.2.1, 2.2.2.2 and 2.2.2.10; the framing is 2.2.1
(message) and 2.2.4 (fragment); the WS-Man envelope is the Create / Command /
Receive of [MS-PSRP] 3.1.5.3 over [MS-WSMV]. Basic over TLS keeps the wire
readable; the point is that the emulator answers the documented protocol, not
merely whatever pypsrp happens to send.
"""

from __future__ import annotations

import base64
import re
import struct
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.lab

SESSION_CAPABILITY, INIT_RUNSPACEPOOL, CREATE_PIPELINE = 0x00010002, 0x00010004, 0x00021006
APPLICATION_PRIVATE_DATA, RUNSPACEPOOL_STATE = 0x00021009, 0x00021005
PIPELINE_OUTPUT, ERROR_RECORD, PIPELINE_STATE = 0x00041004, 0x00041005, 0x00041006
RESOURCE = "http://schemas.microsoft.com/powershell/Microsoft.Exchange"
NS = {"s": "http://www.w3.org/2003/05/soap-envelope", "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
      "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"}

# [MS-PSRP] 2.2.2.1 (without the optional TimeZone).
CAPABILITY = ('<Obj RefId="0"><MS><Version N="protocolversion">2.2</Version><Version N="PSVersion">2.0</Version>'
              '<Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>')
ENUM = '<TN RefId="%d"><T>%s</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN>'
HOST_NULL = ('<Obj N="HostInfo" RefId="%d"><MS><B N="_isHostNull">true</B><B N="_isHostUINull">true</B>'
             '<B N="_isHostRawUINull">true</B><B N="_useRunspaceHost">true</B></MS></Obj>')
# [MS-PSRP] 2.2.2.2, with no application arguments.
INIT = ('<Obj RefId="0"><MS><I32 N="MinRunspaces">1</I32><I32 N="MaxRunspaces">1</I32>'
        '<Obj N="PSThreadOptions" RefId="1">' + ENUM % (0, "System.Management.Automation.Runspaces.PSThreadOptions")
        + '<ToString>Default</ToString><I32>0</I32></Obj>'
        '<Obj N="ApartmentState" RefId="2">' + ENUM % (1, "System.Threading.ApartmentState")
        + '<ToString>Unknown</ToString><I32>2</I32></Obj>' + HOST_NULL % 3
        + '<Nil N="ApplicationArguments" /></MS></Obj>')


def create_pipeline(command, is_script=False, args=()):
    """[MS-PSRP] 2.2.2.10: one command, its arguments as {N: name, V: value} objects."""
    merge = ('<Obj N="%s" RefId="%d"><TNRef RefId="3" /><ToString>None</ToString><I32>0</I32></Obj>')
    arg_objs = "".join('<Obj RefId="%d"><MS><S N="N">%s</S>%s</MS></Obj>' % (20 + i, n, v)
                       for i, (n, v) in enumerate(args))
    return ('<Obj RefId="0"><MS><B N="NoInput">true</B>'
            '<Obj N="ApartmentState" RefId="1">' + ENUM % (0, "System.Threading.ApartmentState")
            + '<ToString>Unknown</ToString><I32>2</I32></Obj>'
            '<Obj N="RemoteStreamOptions" RefId="2">' + ENUM % (1, "System.Management.Automation.RemoteStreamOptions")
            + '<ToString>0</ToString><I32>0</I32></Obj><B N="AddToHistory">false</B>' + HOST_NULL % 3
            + '<Obj N="PowerShell" RefId="4"><MS><Obj N="Cmds" RefId="5"><TN RefId="2"><T>System.Collections.'
            'Generic.List`1[[System.Management.Automation.PSObject]]</T><T>System.Object</T></TN><LST>'
            '<Obj RefId="6"><MS><S N="Cmd">%s</S><B N="IsScript">%s</B><Nil N="UseLocalScope" />'
            '<Obj N="MergeMyResult" RefId="7">' % (command, "true" if is_script else "false")
            + ENUM % (3, "System.Management.Automation.Runspaces.PipelineResultTypes")
            + '<ToString>None</ToString><I32>0</I32></Obj>' + merge % ("MergeToResult", 8)
            + merge % ("MergePreviousResults", 9)
            + '<Obj N="Args" RefId="10"><TNRef RefId="2" /><LST>%s</LST></Obj></MS></Obj></LST></Obj>' % arg_objs
            + '<B N="IsNested">false</B><Nil N="History" /><B N="RedirectShellErrorOutputPipe">true</B></MS></Obj>'
            '<B N="IsNested">false</B></MS></Obj>')


def message(kind, xml, rpid, pid=None):
    """[MS-PSRP] 2.2.1: Destination (server), MessageType, RPID, PID (little-endian GUIDs), UTF-8 data with BOM."""
    return (struct.pack("<II", 2, kind) + rpid.bytes_le + (pid or uuid.UUID(int=0)).bytes_le
            + b"\xef\xbb\xbf" + xml.encode("utf-8"))


def fragment(object_id, data):
    """[MS-PSRP] 2.2.4: one whole message in one fragment (Start and End set)."""
    return struct.pack(">QQBI", object_id, 0, 0x3, len(data)) + data


def unpack(raw):
    """Fragments (each a whole message here) -> [(message type, pid, xml text)]."""
    out = []
    while raw:
        _oid, _fid, flags, size = struct.unpack(">QQBI", raw[:21])
        data, raw = raw[21:21 + size], raw[21 + size:]
        assert flags & 0x3 == 0x3, "the lab's messages are small enough to fit one fragment"
        kind = struct.unpack("<I", data[4:8])[0]
        pid = uuid.UUID(bytes_le=data[24:40])
        out.append((kind, pid, data[40:].decode("utf-8-sig")))
    return out


class Wire(object):
    """WS-Man over HTTPS with Basic, built by hand ([MS-WSMV] envelopes)."""

    def __init__(self, lab):
        entry = lab.service("winrm")["organizations"]["ex-t.test"]
        self.url = "https://127.0.0.1:%d/PowerShell/" % entry["servers"][0]["psrp_https_port"]
        self.session = requests.Session()
        self.session.auth = (entry["username"], Path(entry["password_file"]).read_text().strip())
        # Per request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
        self.ca = lab.manifest["ca"]
        self.shell_id = None

    def post(self, action, body, selector=True, options="", status=200):
        header = ('<a:To>%s</a:To><w:ResourceURI s:mustUnderstand="true">%s</w:ResourceURI>'
                  '<a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address>'
                  '</a:ReplyTo><a:Action s:mustUnderstand="true">%s</a:Action><w:MaxEnvelopeSize>153600'
                  '</w:MaxEnvelopeSize><a:MessageID>uuid:%s</a:MessageID><w:OperationTimeout>PT5S'
                  '</w:OperationTimeout>%s%s' % (self.url, RESOURCE, action, uuid.uuid4(), options,
                                                 '<w:SelectorSet><w:Selector Name="ShellId">%s</w:Selector>'
                                                 '</w:SelectorSet>' % self.shell_id if selector else ""))
        envelope = ('<s:Envelope xmlns:s="%s" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
                    'xmlns:w="%s" xmlns:rsp="%s"><s:Header>%s</s:Header><s:Body>%s</s:Body></s:Envelope>'
                    % (NS["s"], NS["w"], NS["rsp"], header, body))
        answer = self.session.post(self.url, data=envelope.encode("utf-8"), verify=self.ca,
                                   headers={"Content-Type": "application/soap+xml;charset=UTF-8"})
        assert answer.status_code == status, answer.text
        return ET.fromstring(answer.content)

    def create(self, creation):
        body = ('<rsp:Shell><rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout'
                '</rsp:OutputStreams><creationXml xmlns="http://schemas.microsoft.com/powershell">%s</creationXml>'
                '</rsp:Shell>' % base64.b64encode(creation).decode())
        root = self.post("http://schemas.xmlsoap.org/ws/2004/09/transfer/Create", body, selector=False,
                         options='<w:OptionSet><w:Option Name="protocolversion" MustComply="true">2.2</w:Option>'
                                 '</w:OptionSet>')
        self.shell_id = root.find(".//rsp:Shell/rsp:ShellId", NS).text
        return root

    def receive(self, command_id=None):
        attr = ' CommandId="%s"' % command_id if command_id else ""
        root = self.post("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive",
                         '<rsp:Receive><rsp:DesiredStream%s>stdout</rsp:DesiredStream></rsp:Receive>' % attr)
        raw = b"".join(base64.b64decode(s.text or "") for s in root.findall(".//rsp:Stream", NS))
        state = root.find(".//rsp:CommandState", NS)
        return unpack(raw), (state.get("State").rsplit("/", 1)[-1] if state is not None else None)

    def command(self, pid, data):
        root = self.post("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command",
                         '<rsp:CommandLine CommandId="%s"><rsp:Command></rsp:Command><rsp:Arguments>%s'
                         '</rsp:Arguments></rsp:CommandLine>' % (str(pid).upper(), base64.b64encode(data).decode()))
        return root.find(".//rsp:CommandResponse/rsp:CommandId", NS).text

    def run(self, rpid, oid, pipeline_xml):
        pid = uuid.uuid4()
        command_id = self.command(pid, fragment(oid, message(CREATE_PIPELINE, pipeline_xml, rpid, pid)))
        assert command_id == str(pid).upper(), "the server keeps the client's CommandId (the pipeline's PID)"
        messages, state = [], None
        while state != "Done":
            got, state = self.receive(command_id)
            messages.extend(got)
        return messages


def pipeline_state(messages):
    [(kind, _pid, xml)] = [m for m in messages if m[0] == PIPELINE_STATE]
    return int(re.search(r'<I32 N="PipelineState">(\d+)</I32>', xml).group(1)), xml


def test_documented_negotiation_and_pipelines(lab):
    wire = Wire(lab)
    rpid = uuid.uuid4()
    creation = (fragment(1, message(SESSION_CAPABILITY, CAPABILITY, rpid))
                + fragment(2, message(INIT_RUNSPACEPOOL, INIT, rpid)))
    root = wire.create(creation)
    assert root.find(".//rsp:Shell/rsp:ResourceUri", NS).text == RESOURCE
    messages, state = wire.receive()
    kinds = [m[0] for m in messages]
    assert kinds == [SESSION_CAPABILITY, APPLICATION_PRIVATE_DATA, RUNSPACEPOOL_STATE] and state is None
    assert '<Version N="protocolversion">' in messages[0][2]
    # RunspacePoolState 2 = Opened ([MS-PSRP] 2.2.3.4).
    assert re.search(r'<I32 N="RunspaceState">2</I32>', messages[2][2])

    out = wire.run(rpid, 3, create_pipeline("Get-SendConnector",
                                            args=[("Identity", '<S N="V">Outbound via mxHero</S>')]))
    outputs = [m for m in out if m[0] == PIPELINE_OUTPUT]
    assert len(outputs) == 1 and "<ToString>Outbound via mxHero</ToString>" in outputs[0][2]
    assert '<B N="Enabled">true</B>' in outputs[0][2] and "<S>smtp.mxhero.com</S>" in outputs[0][2]
    # Issue 23: SmartHosts as Exchange sends it (the shape of a Get-Mailbox capture from Exchange 2016): a
    # MultiValuedProperty`1 of the cmdlet's item type, then MultiValuedPropertyBase and System.Object, an <LST> of
    # <S> items, no <ToString>.
    connector = ET.fromstring(outputs[0][2])
    hosts = connector.find("Props/Obj[@N='SmartHosts']")
    assert [t.text for t in hosts.find("TN")] == [
        "Microsoft.Exchange.Data.MultiValuedProperty`1[[Microsoft.Exchange.Data.SmartHost, Microsoft.Exchange.Data, "
        "Version=15.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35]]",
        "Microsoft.Exchange.Data.MultiValuedPropertyBase", "System.Object"]
    assert hosts.find("ToString") is None and [i.tag for i in hosts.find("LST")] == ["S"]
    spaces = connector.find("Props/Obj[@N='AddressSpaces']")
    assert spaces.find("TN/T").text.startswith("Microsoft.Exchange.Data.MultiValuedProperty`1[[Microsoft.Exchange"
                                               ".Data.AddressSpace, ")
    assert [i.text for i in spaces.find("LST")] == ["SMTP:*;1"] and spaces.find("ToString") is None
    # An ADObjectId goes as its text.
    assert connector.find("Props/S[@N='Identity']").text == "Outbound via mxHero"
    assert pipeline_state(out)[0] == 4  # Completed

    out = wire.run(rpid, 4, create_pipeline("Get-SendConnector", args=[("Identity", '<S N="V">nope</S>')]))
    [(_, _, record)] = [m for m in out if m[0] == ERROR_RECORD]
    assert "ManagementObjectNotFoundException" in record and "couldn't be found on" in record
    assert pipeline_state(out)[0] == 4

    out = wire.run(rpid, 5, create_pipeline("Set-SendConnector", args=[
        ("Identity", '<S N="V">Outbound via mxHero</S>'), ("Enabled", '<B N="V">false</B>')]))
    assert pipeline_state(out)[0] == 4
    connectors = lab.state()["winrm"]["organizations"]["ex-t.test"]["send_connectors"]
    assert {c["name"]: c["enabled"] for c in connectors}["Outbound via mxHero"] is False
    wire.run(rpid, 6, create_pipeline("Set-SendConnector", args=[
        ("Identity", '<S N="V">Outbound via mxHero</S>'), ("Enabled", '<B N="V">true</B>')]))

    # A script (IsScript true) fails the pipeline: PipelineState 5 = Failed, ScriptsNotAllowed.
    out = wire.run(rpid, 7, create_pipeline("Get-SendConnector | Remove-SendConnector -Confirm:$false",
                                            is_script=True))
    state, xml = pipeline_state(out)
    assert state == 5 and "ScriptsNotAllowed" in xml and "no-language mode" in xml
    assert len(lab.state()["winrm"]["organizations"]["ex-t.test"]["send_connectors"]) == 2

    wire.post("http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete", "")
    # The shell is gone: the next Receive is WS-Man's InvalidSelectors fault.
    wire.post("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive",
              '<rsp:Receive><rsp:DesiredStream>stdout</rsp:DesiredStream></rsp:Receive>', status=500)


def test_receive_with_nothing_to_say_is_a_long_poll_then_timeout(lab):
    wire = Wire(lab)
    rpid = uuid.uuid4()
    wire.create(fragment(1, message(SESSION_CAPABILITY, CAPABILITY, rpid))
                + fragment(2, message(INIT_RUNSPACEPOOL, INIT, rpid)))
    wire.receive()
    import time
    started = time.monotonic()
    root = wire.post("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive",
                     '<rsp:Receive><rsp:DesiredStream>stdout</rsp:DesiredStream></rsp:Receive>', status=500)
    assert time.monotonic() - started >= 4.5, "the server holds the Receive for the OperationTimeout (PT5S)"
    fault = root.find(".//{http://schemas.microsoft.com/wbem/wsman/1/wsmanfault}WSManFault")
    assert fault.get("Code") == "2150858793"
