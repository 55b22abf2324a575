"""Parse the commands the Exchange modules print for a person, and replay their documented effect.

No PowerShell runs on these machines, so a printed line is parsed with
tree-sitter-powershell and its cmdlets are applied, as Exchange documents
them, to plain dicts shaped like the lab's model. A test then compares what
the command would build with what the module removed.

PowerShell's tokenizer treats U+2018, U+2019, U+201A and U+201B as ' (the
grammar does not), so they are mapped to ' before parsing; the mapping is one
character for one, and literals are read back from the original text.
"""

from __future__ import annotations

import re

import tree_sitter
import tree_sitter_powershell

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
QUOTES = "'\u2018\u2019\u201a\u201b"


class Replay(Exception):
    """The printed command would fail, or would not do what it claims."""


def _literal(text):
    """Value of a single-quoted literal: any two quote characters in a row stand for the second."""
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        if body[i] in QUOTES and i + 1 < len(body) and body[i + 1] in QUOTES:
            out.append(body[i + 1])
            i += 2
            continue
        if body[i] in QUOTES:
            raise Replay("a lone quote inside a literal: %r" % text)
        out.append(body[i])
        i += 1
    return "".join(out)


def parse(line):
    """[(cmdlet, {parameter-lowercase: value})] for a line of ;-separated commands; Replay if it does not parse."""
    mapped = "".join("'" if ch in QUOTES else ch for ch in line).encode("utf-8")
    tree = PARSER.parse(mapped)
    if tree.root_node.has_error:
        raise Replay("does not parse as PowerShell: %s" % line)

    def text(node):
        start = len(mapped[:node.start_byte].decode("utf-8"))
        end = len(mapped[:node.end_byte].decode("utf-8"))
        return line[start:end]

    def value(node):
        if node.type in ("array_literal_expression",):
            items = [value(c) for c in node.children if c.type != ","]
            return items[0] if len(items) == 1 else items
        if node.type == "unary_expression":
            return value(node.children[0])
        if node.type == "string_literal":
            literal = text(node)
            if literal[0] not in QUOTES:
                raise Replay("only single-quoted literals are safe to print: %s" % literal)
            return _literal(literal)
        if node.type == "integer_literal":
            return int(text(node))
        if node.type == "variable":
            known = {"$true": True, "$false": False, "$null": None}
            if text(node).lower() not in known:
                raise Replay("a variable in a printed command: %s" % text(node))
            return known[text(node).lower()]
        if node.type == "generic_token":
            return text(node)
        if node.type == "parenthesized_expression":
            return ("expression", text(node))
        raise Replay("unexpected %s in a printed command: %s" % (node.type, text(node)))

    commands = []
    statements = tree.root_node.children[0].children if tree.root_node.children else []
    for statement in statements:
        if statement.type == "empty_statement":
            continue
        if statement.type != "pipeline":
            raise Replay("not a plain command: %s" % text(statement))
        chain = statement.children[0]
        if len(chain.children) != 1 or chain.children[0].type != "command":
            raise Replay("a pipeline or chain, not one command: %s" % text(statement))
        command = chain.children[0]
        name = text(command.child_by_field_name("command_name"))
        params, current = {}, None
        elements = command.child_by_field_name("command_elements")
        for child in (elements.children if elements else []):
            if child.type == "command_argument_sep":
                continue
            if child.type == "command_parameter":
                current = text(child).lstrip("-").rstrip(":").lower()
                params[current] = True  # a switch until an argument follows
                continue
            if current is None:
                # Positional arguments are kept by position (#0, #1, ...).
                params["#%d" % sum(1 for k in params if k.startswith("#"))] = value(child)
                continue
            params[current] = value(child)
            current = None
        commands.append((name, params))
    return commands


def _size_bytes(text):
    """'35 MB (36,700,160 bytes)' or '35MB' -> 36700160; 'Unlimited' stays."""
    text = str(text).strip()
    if text.lower() == "unlimited":
        return "Unlimited"
    found = re.search(r"\(([\d,.\s]+) bytes\)", text)
    if found:
        return int(re.sub(r"\D", "", found.group(1)))
    found = re.fullmatch(r"(\d+)\s*(B|KB|MB|GB|TB)?", text, re.I)
    if not found:
        raise Replay("not a ByteQuantifiedSize: %s" % text)
    factor = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}[(found.group(2) or "B").upper()]
    return int(found.group(1)) * factor


def replay_reinstall(line, per_service):
    """{(service, name): agent} that a server without the agent would have after ``line``, plus restarts."""
    agents, restarted = {}, []
    allowed = {"install-transportagent": {"name", "transportagentfactory", "assemblypath", "transportservice"},
               "set-transportagent": {"identity", "priority", "transportservice"},
               "enable-transportagent": {"identity", "transportservice", "confirm"},
               "restart-service": {"name", "#0"}}
    for cmdlet, params in parse(line):
        key = cmdlet.lower()
        if key not in allowed:
            raise Replay("unexpected cmdlet %s" % cmdlet)
        if key == "restart-service":
            restarted.append(params.get("name") or params.get("#0"))
            continue
        unknown = set(params) - allowed[key]
        if not per_service and "transportservice" in params:
            raise Replay("A parameter cannot be found that matches parameter name 'TransportService'. (%s on 2010)"
                         % cmdlet)
        if unknown:
            raise Replay("%s has no parameter %s" % (cmdlet, ", ".join(sorted(unknown))))
        # From 2013 a cmdlet without -TransportService works on the Hub (Transport service) agents.
        service = params.get("transportservice", "Hub")
        if key == "install-transportagent":
            # Installed agents start disabled, at the lowest priority.
            agents[(service, params["name"])] = {"enabled": False, "priority": 99,
                                                 "factory": params["transportagentfactory"],
                                                 "assembly_path": params["assemblypath"]}
            continue
        agent = agents.get((service, params["identity"]))
        if agent is None:
            raise Replay('Transport agent "%s" isn\'t found. (%s)' % (params["identity"], service))
        if key == "set-transportagent":
            agent["priority"] = params["priority"]
        else:
            agent["enabled"] = True
    return agents, restarted


CONNECTOR_PARAMETERS = {
    # parameter: (lab model key, default when New-SendConnector is not given it)
    "enabled": ("enabled", True), "port": ("port", 25), "fqdn": ("fqdn", ""),
    "requiretls": ("require_tls", False), "tlsauthlevel": ("tls_auth_level", ""), "tlsdomain": ("tls_domain", ""),
    "tlscertificatename": ("tls_certificate_name", ""), "maxmessagesize": ("max_message_size", "35MB"),
    "smarthostauthmechanism": ("smart_host_auth_mechanism", "None"),
    "protocollogginglevel": ("protocol_logging_level", "None"),
    "frontendproxyenabled": ("frontend_proxy_enabled", False),
    "useexternaldnsserversenabled": ("use_external_dns_servers_enabled", False),
    "ignorestarttls": ("ignore_starttls", False), "domainsecureenabled": ("domain_secure_enabled", False),
    "connectioninactivitytimeout": ("connection_inactivity_timeout", "00:10:00"), "comment": ("comment", ""),
}


def replay_new_send_connector(line):
    """The connector (lab model keys) that ``line``'s one New-SendConnector would create."""
    commands = parse(line)
    if len(commands) != 1 or commands[0][0].lower() != "new-sendconnector":
        raise Replay("not one New-SendConnector: %s" % line)
    params = dict(commands[0][1])
    listed = lambda v: v if isinstance(v, list) else [v]  # noqa: E731
    out = {"name": params.pop("name"), "address_spaces": listed(params.pop("addressspaces")),
           "smart_hosts": listed(params.pop("smarthosts", [])),
           "source_transport_servers": listed(params.pop("sourcetransportservers", []))}
    params.pop("usage", None)
    dns = params.pop("dnsroutingenabled", True)
    if out["smart_hosts"] and dns is not False:
        raise Replay("DNSRoutingEnabled must be false when SmartHosts is set")
    out["dns_routing_enabled"] = bool(dns)
    credential = params.pop("authenticationcredential", None)
    for parameter, (key, default) in CONNECTOR_PARAMETERS.items():
        out[key] = params.pop(parameter, default)
    if params:
        raise Replay("New-SendConnector has no parameter %s" % ", ".join(sorted(params)))
    if out["smart_host_auth_mechanism"] in ("BasicAuth", "BasicAuthRequireTLS") and credential is None:
        raise Replay("BasicAuth needs -AuthenticationCredential")
    out["max_message_size"] = _size_bytes(out["max_message_size"])
    return out


def lab_connector(connector):
    """A lab model connector in the shape replay_new_send_connector returns."""
    out = dict(connector)
    out["max_message_size"] = _size_bytes(out["max_message_size"])
    out.pop("identity", None)
    return out
