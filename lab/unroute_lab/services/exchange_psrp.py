"""Exchange's remote PowerShell endpoint (``/PowerShell/``, configuration Microsoft.Exchange) over the lab's WS-Man.

[MS-PSRP] on top of [MS-WSMV]: WS-Man Create opens a runspace pool whose
``creationXml`` carries SESSION_CAPABILITY and INIT_RUNSPACEPOOL fragments;
Command carries CREATE_PIPELINE (the commands and their typed parameters as
CLIXML); Receive returns PSRP fragments (PIPELINE_OUTPUT, ERROR_RECORD,
PIPELINE_STATE...) base64-encoded on the ``stdout`` stream; Signal ends a
pipeline and Delete closes the pool. psrpcore's server-side runspace pool and
pipeline do the PSRP framing and serialisation; this module is the WS-Man
shell around them and the NoLanguage rules of Exchange's endpoint: a script
(``IsScript``) or a command Exchange does not publish fails the pipeline the
way Exchange fails it, a known cmdlet runs against the in-memory organisation
(exchange_cmdlets.py). Nothing received is ever executed on the host.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from xml.sax.saxutils import escape

from psrpcore import (CreatePipelineEvent, PSRPPayload, ServerPipeline, ServerRunspacePool, StreamType)
from psrpcore.types import ErrorCategory, ErrorCategoryInfo, ErrorRecord, NETException, PSInvocationState

from . import winrm_soap as soap
from .exchange_cmdlets import CmdletError, Session

RESOURCE_URI = "http://schemas.microsoft.com/powershell/Microsoft.Exchange"
PS_NS = "http://schemas.microsoft.com/powershell"
# The lab's own cap on how long a Receive with nothing to return is held (a real server holds OperationTimeout).
MAX_LONG_POLL = 5.0
SCRIPTS_NOT_ALLOWED = ("The syntax is not supported by this runspace. This can occur if the runspace is in "
                       "no-language mode.")


def error_record(err):
    exception = NETException(Message=err.message)
    exception.PSObject.type_names = [err.exception_type, "System.Exception", "System.Object"]
    return ErrorRecord(Exception=exception,
                       CategoryInfo=ErrorCategoryInfo(Category=err.category, Reason=err.reason,
                                                      TargetName=err.target or ""),
                       FullyQualifiedErrorId=err.error_id, TargetObject=err.target)


def catalog_fault(resource_uri):
    return soap.Fault(2150858811, "w:DestinationUnreachable",
                      "The WS-Management service cannot process the request. The resource URI (%s) was not found in "
                      "the WS-Management catalog. The catalog contains the metadata that describes resources, or "
                      "logical endpoints. " % resource_uri, value="s:Sender")


class Pool(object):
    """One WS-Man shell = one PSRP runspace pool, with its pending output per pipeline (None: the pool)."""

    def __init__(self, server, user):
        self.server = server
        self.user = user
        self.pool = ServerRunspacePool(application_private_data={})
        self.queues = {None: []}
        self.done = set()
        self.changed = threading.Condition()

    def feed(self, data):
        """Process incoming PSRP fragments; returns the complete CREATE_PIPELINE events."""
        self.pool.receive_data(PSRPPayload(data, StreamType.default, None))
        events = []
        while True:
            event = self.pool.next_event()
            if event is None:
                break
            if isinstance(event, CreatePipelineEvent):
                events.append(event)
        return events

    def flush(self, finished=()):
        """Move what psrpcore has queued into per-pipeline queues, then mark ``finished`` pipelines done."""
        with self.changed:
            while True:
                payload = self.pool.data_to_send()
                if payload is None:
                    break
                key = str(payload.pipeline_id).upper() if payload.pipeline_id else None
                self.queues.setdefault(key, []).append(payload.data)
            self.done.update(finished)
            self.changed.notify_all()


class PSRPEndpoint(object):
    """The shells of one lab service; ``history`` records each cmdlet run (for tests and the lab's state)."""

    def __init__(self, lock, history, cmdlet_fault):
        self.lock = lock
        self.history = history
        self.cmdlet_fault = cmdlet_fault
        self.shells = {}

    def dispatch(self, req, server, user, address, sealed):
        if req.resource_uri.rstrip("/").lower() != RESOURCE_URI.lower():
            raise catalog_fault(req.resource_uri)
        if req.action == "Create":
            return self.create(req, server, user, address)
        with self.lock:
            shell = self.shells.get(req.shell_id or "")
        if shell is None or shell.server is not server or shell.user != user:
            raise soap.shell_not_found(req.shell_id)
        if req.action == "Command":
            return self.command(req, shell)
        if req.action == "Send":
            return self.send(req, shell)
        if req.action == "Receive":
            return self.receive(req, shell)
        if req.action == "Signal":
            return self.signal(req, shell)
        if req.action == "Delete":
            with self.lock:
                self.shells.pop(req.shell_id, None)
            return soap.delete_response(req)
        raise soap.internal_fault()

    # -- WS-Man operations ---------------------------------------------------------
    def create(self, req, server, user, address):
        node = req.find("rsp:Shell/{%s}creationXml" % PS_NS)
        if node is None or not (node.text or "").strip():
            raise soap.bad_request("The Create request for a PowerShell shell has no creationXml. ")
        shell = Pool(server, user)
        try:
            shell.feed(base64.b64decode(node.text))
        except Exception as err:  # noqa: BLE001 - a malformed negotiation is the client's fault
            raise soap.bad_request("The PSRP negotiation in creationXml is not valid: %s " % err)
        shell.flush()
        shell_id = str(uuid.uuid4()).upper()
        with self.lock:
            self.shells[shell_id] = shell
        return soap.create_response(req, address, shell_id, resource_uri=RESOURCE_URI, input_streams="stdin pr",
                                    output_streams="stdout")

    def command(self, req, shell):
        node = req.find("rsp:CommandLine")
        if node is None:
            raise soap.bad_request("The Command request has no CommandLine. ")
        data = b"".join(base64.b64decode(a.text or "") for a in node.findall("rsp:Arguments", soap.NS))
        command_id = (node.get("CommandId") or "").upper() or None
        pipeline_id = _pipeline_id(data)
        if pipeline_id is None:
            raise soap.bad_request("The Command request carries no CREATE_PIPELINE fragment. ")
        command_id = command_id or str(pipeline_id).upper()
        with self.lock:
            ServerPipeline(shell.pool, pipeline_id)
            shell.queues.setdefault(command_id, [])
            self.run(shell, self.feed(shell, data))
        return soap.command_response(req, command_id)

    def send(self, req, shell):
        node = req.find("rsp:Send/rsp:Stream")
        if node is None:
            raise soap.bad_request("The Send request has no Stream. ")
        with self.lock:
            self.run(shell, self.feed(shell, base64.b64decode(node.text or "")))
        return soap.send_response(req)

    def receive(self, req, shell):
        node = req.find("rsp:Receive/rsp:DesiredStream")
        command_id = (node.get("CommandId") or "").upper() or None if node is not None else None
        if command_id is not None and command_id not in shell.queues:
            raise soap.Fault(2150858843, "w:InvalidSelectors", "The command was not found in the shell. ",
                             value="s:Sender")
        deadline = time.monotonic() + min(soap.seconds(req.operation_timeout), MAX_LONG_POLL)
        with shell.changed:
            # A long poll: answer with output, or with the operation timeout when there is none.
            while not shell.queues.get(command_id) and command_id not in shell.done:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise soap.timeout_fault()
                shell.changed.wait(left)
            chunks = shell.queues.get(command_id) or []
            shell.queues[command_id] = []
            # flush() queues a pipeline's last output before marking it done, so nothing is left behind.
            done = command_id is not None and command_id in shell.done
        return psrp_receive_response(req, command_id, chunks, done)

    def signal(self, req, shell):
        node = req.find("rsp:Signal")
        command_id = (node.get("CommandId") or "").upper() if node is not None else ""
        with self.lock:
            pipeline = shell.pool.pipeline_table.get(_uuid(command_id))
            if pipeline is not None and pipeline.state != PSInvocationState.Running:
                pipeline.close()
            shell.queues.pop(command_id, None)
            shell.done.discard(command_id)
        return soap.signal_response(req)

    # -- pipelines -----------------------------------------------------------------
    @staticmethod
    def feed(shell, data):
        try:
            return shell.feed(data)
        except Exception as err:  # noqa: BLE001 - fragments that do not parse are the client's fault
            raise soap.bad_request("The PSRP fragments are not valid: %s " % err)

    def run(self, shell, events):
        finished = []
        for event in events:
            pipeline = shell.pool.pipeline_table[event.pipeline_id]
            self.execute(shell, pipeline, event.pipeline)
            finished.append(str(event.pipeline_id).upper())
        shell.flush(finished)

    def execute(self, shell, pipeline, powershell):
        # PowerShell tells the client only a pipeline's final state (Completed, Failed, Stopped), not Running.
        pipeline._change_state(PSInvocationState.Running, emit=False)
        commands = list(powershell.commands)
        names = [c.command_text for c in commands]
        entry = {"time": time.time(), "server": shell.server.name, "user": shell.user, "endpoint": "PowerShell",
                 "script": None, "cmdlet": names[0] if names else None,
                 "commands": [{"name": c.command_text, "is_script": c.is_script,
                               "parameters": [[k, _plain(v)] for k, v in c.parameters]} for c in commands]}
        self.history.append(entry)
        if any(c.is_script for c in commands):
            # Exchange's endpoint is NoLanguage: the script never reaches a parser that would run it.
            entry["outcome"] = "refused"
            return self.fail(pipeline, CmdletError(SCRIPTS_NOT_ALLOWED, "System.Management.Automation."
                                                   "PSNotSupportedException", ErrorCategory.NotSpecified,
                                                   "PSNotSupportedException",
                                                   "ScriptsNotAllowed", terminating=True))
        if len(commands) != 1:
            entry["outcome"] = "refused"
            return self.fail(pipeline, CmdletError(
                "unroute-lab: this endpoint emulates one cmdlet per pipeline; got %s" % " | ".join(names),
                "System.NotSupportedException", ErrorCategory.NotImplemented, "NotSupportedException", "LabNotEmulated", terminating=True))
        session = Session(shell.server, self.cmdlet_fault)
        try:
            for obj in session.run(commands[0].command_text, commands[0].parameters):
                pipeline.write_output(obj)
        except CmdletError as err:
            entry["outcome"] = err.reason
            if err.terminating:
                return self.fail(pipeline, err)
            record = error_record(err)
            pipeline.write_error(record.Exception, record.CategoryInfo, err.target, err.error_id)
        else:
            entry["outcome"] = "ok"
        pipeline.complete()

    @staticmethod
    def fail(pipeline, err):
        pipeline._change_state(PSInvocationState.Failed, error=error_record(err))


def psrp_receive_response(req, command_id, chunks, done):
    attr = ' CommandId="%s"' % command_id if command_id else ""
    parts = ["<rsp:Stream Name=\"stdout\"%s>%s</rsp:Stream>" % (attr, base64.b64encode(c).decode("ascii"))
             for c in chunks]
    if command_id:
        state = soap.DONE if done else soap.RUNNING
        parts.append("<rsp:CommandState CommandId=\"%s\" State=\"%s\"/>" % (command_id, escape(state)))
    body = "<rsp:ReceiveResponse>%s</rsp:ReceiveResponse>" % "".join(parts)
    return soap._envelope(soap.SHELL + "ReceiveResponse", req.message_id, body)


def _pipeline_id(data):
    """PID of the message in the first fragment ([MS-PSRP] 2.2.4: 21-byte fragment header, then the message)."""
    if len(data) < 21 + 40:
        return None
    return uuid.UUID(bytes_le=bytes(data[21 + 24:21 + 40]))


def _uuid(text):
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _plain(value):
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    return str(value)

