"""WS-Management envelopes as Windows' WinRM service writes them (the part pywinrm reads).

Requests are parsed with ElementTree; answers are built from small templates
with the namespaces and actions of [MS-WSMV]. Faults are real SOAP 1.2 faults
with a ``wsmanfault:WSManFault`` detail and an HTTP 500 status.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
CMD_RESOURCE = SHELL + "cmd"
DONE = SHELL + "CommandState/Done"
RUNNING = SHELL + "CommandState/Running"

# Short names for the actions the lab serves.
ACTIONS = {
    TRANSFER + "Create": "Create",
    TRANSFER + "Delete": "Delete",
    SHELL + "Command": "Command",
    SHELL + "Send": "Send",
    SHELL + "Receive": "Receive",
    SHELL + "Signal": "Signal",
}

TIMEOUT_CODE = 2150858793
TIMEOUT_TEXT = "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "


class Fault(Exception):
    """A WS-Man fault to send back (HTTP 500)."""

    def __init__(self, code, subcode, text, value="s:Receiver"):
        super(Fault, self).__init__(text)
        self.code = code
        self.subcode = subcode
        self.text = text
        self.value = value


def timeout_fault():
    return Fault(TIMEOUT_CODE, "w:TimedOut", TIMEOUT_TEXT)


def internal_fault():
    return Fault(2147500037, "w:InternalError",
                 "The WS-Management service cannot process the request. An internal error occurred. ")


def shell_not_found(shell_id):
    return Fault(2150858843, "w:InvalidSelectors",
                 "The request for the Windows Remote Shell with ShellId %s failed because the shell was not found "
                 "on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
                 "exists on the server. Provide the correct ShellId or create a new shell and retry the operation. "
                 % shell_id, value="s:Sender")


def bad_request(text):
    return Fault(2150858817, "w:SchemaValidationError", text, value="s:Sender")


class Request(object):
    """The parts of one WS-Man request the lab acts on."""

    def __init__(self, body):
        try:
            self.root = ET.fromstring(body)
        except ET.ParseError as err:
            raise bad_request("The SOAP XML in the message does not match the corresponding XML schema "
                              "definition. (%s) " % err)
        header = self.root.find("s:Header", NS)
        self.body = self.root.find("s:Body", NS)
        if header is None or self.body is None:
            raise bad_request("The SOAP message has no Header or Body. ")
        self.action_uri = (header.findtext("a:Action", "", NS) or "").strip()
        self.action = ACTIONS.get(self.action_uri)
        self.message_id = (header.findtext("a:MessageID", "", NS) or "").strip()
        self.resource_uri = (header.findtext("w:ResourceURI", "", NS) or "").strip()
        self.shell_id = None
        for sel in header.findall("w:SelectorSet/w:Selector", NS):
            if sel.get("Name") == "ShellId":
                self.shell_id = (sel.text or "").strip()
        self.options = {opt.get("Name"): (opt.text or "") for opt in header.findall("w:OptionSet/w:Option", NS)}
        self.operation_timeout = (header.findtext("w:OperationTimeout", "", NS) or "").strip()

    def find(self, path):
        return self.body.find(path, NS)


def _envelope(action, relates_to, body):
    return ("<s:Envelope xml:lang=\"en-US\" xmlns:s=\"%(s)s\" xmlns:a=\"%(a)s\" xmlns:x=\"%(x)s\" "
            "xmlns:w=\"%(w)s\" xmlns:rsp=\"%(rsp)s\" xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\">"
            % NS +
            "<s:Header><a:Action>%s</a:Action><a:MessageID>uuid:%s</a:MessageID>"
            "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
            "<a:RelatesTo>%s</a:RelatesTo></s:Header><s:Body>%s</s:Body></s:Envelope>"
            % (escape(action), str(uuid.uuid4()).upper(), escape(relates_to), body)).encode("utf-8")


def create_response(req, address, shell_id, resource_uri=CMD_RESOURCE, input_streams="stdin",
                    output_streams="stdout stderr"):
    body = ("<x:ResourceCreated><a:Address>%s</a:Address><a:ReferenceParameters>"
            "<w:ResourceURI>%s</w:ResourceURI><w:SelectorSet><w:Selector Name=\"ShellId\">%s</w:Selector>"
            "</w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>"
            "<rsp:Shell><rsp:ShellId>%s</rsp:ShellId><rsp:ResourceUri>%s</rsp:ResourceUri>"
            "<rsp:InputStreams>%s</rsp:InputStreams><rsp:OutputStreams>%s</rsp:OutputStreams>"
            "</rsp:Shell>" % (escape(address), escape(resource_uri), shell_id, shell_id, escape(resource_uri),
                              escape(input_streams), escape(output_streams)))
    return _envelope(TRANSFER + "CreateResponse", req.message_id, body)


def command_response(req, command_id):
    body = "<rsp:CommandResponse><rsp:CommandId>%s</rsp:CommandId></rsp:CommandResponse>" % command_id
    return _envelope(SHELL + "CommandResponse", req.message_id, body)


def send_response(req):
    return _envelope(SHELL + "SendResponse", req.message_id, "<rsp:SendResponse/>")


def receive_response(req, command_id, stdout, stderr, exit_code):
    import base64
    parts = []
    for name, data in (("stdout", stdout), ("stderr", stderr)):
        # Windows sends output in chunks; several Stream elements per name are normal.
        for offset in range(0, len(data), 8192):
            parts.append("<rsp:Stream Name=\"%s\" CommandId=\"%s\">%s</rsp:Stream>"
                         % (name, command_id, base64.b64encode(data[offset:offset + 8192]).decode("ascii")))
        parts.append("<rsp:Stream Name=\"%s\" CommandId=\"%s\" End=\"true\"></rsp:Stream>" % (name, command_id))
    parts.append("<rsp:CommandState CommandId=\"%s\" State=\"%s\"><rsp:ExitCode>%d</rsp:ExitCode>"
                  "</rsp:CommandState>" % (command_id, DONE, exit_code))
    body = "<rsp:ReceiveResponse>%s</rsp:ReceiveResponse>" % "".join(parts)
    return _envelope(SHELL + "ReceiveResponse", req.message_id, body)


def signal_response(req):
    return _envelope(SHELL + "SignalResponse", req.message_id, "<rsp:SignalResponse/>")


def delete_response(req):
    return _envelope(TRANSFER + "DeleteResponse", req.message_id, "")


def fault_response(fault, relates_to, machine):
    body = ("<s:Fault><s:Code><s:Value>%s</s:Value><s:Subcode><s:Value>%s</s:Value></s:Subcode></s:Code>"
            "<s:Reason><s:Text xml:lang=\"en-US\">%s</s:Text></s:Reason><s:Detail>"
            "<f:WSManFault xmlns:f=\"%s\" Code=\"%d\" Machine=%s><f:Message>%s</f:Message></f:WSManFault>"
            "</s:Detail></s:Fault>" % (fault.value, fault.subcode, escape(fault.text), NS["f"], fault.code,
                                       quoteattr(machine), escape(fault.text)))
    return _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to or "", body)


def seconds(text):
    """xs:duration 'PT20.000S' -> 20.0 (the WS-Man OperationTimeout header; 60 s when absent)."""
    text = (text or "").upper()
    if text.startswith("PT") and text.endswith("S"):
        try:
            return float(text[2:-1])
        except ValueError:
            pass
    return 60.0
