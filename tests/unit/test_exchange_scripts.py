"""The shipped PowerShell: it parses, the embedded copy matches, and inputs never become code."""

from __future__ import annotations

import base64
import json

import pytest
import tree_sitter
import tree_sitter_powershell

from exchange_fixtures import PS_DIR, SCRIPTS_PY, render_scripts_module
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import client as client_mod
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.scripts import SCRIPTS

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
SHIPPED = sorted(PS_DIR.glob("*.ps1"))
INJECTIONS = ["x'; Remove-Item C:\\ -Recurse; '", "$(Stop-Computer -Force)", "`$env:COMPUTERNAME`", "two\r\nlines",
              'quote" ; exit 1 ; "', "mxHero\u2019s relay; \u2018Remove-SendConnector Internet\u2019"]


def _errors(node, found):
    if node.type == "ERROR" or node.is_missing:
        found.append("%s at %s" % (node.type, node.start_point))
    for child in node.children:
        _errors(child, found)
    return found


def test_there_are_scripts():
    # Send connectors left the WinRM path for remote Exchange PowerShell (issue 15): no script for them.
    assert {p.name for p in SHIPPED} == {"bootstrap.ps1", "get_state.ps1", "set_transport_agents.ps1"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_script_parses(path):
    tree = PARSER.parse(path.read_bytes())
    assert not tree.root_node.has_error, _errors(tree.root_node, [])


def test_grammar_rejects_broken_powershell():
    # Guards the test above against a parser that accepts anything.
    tree = PARSER.parse(b"foreach ($x in @(1,2) {\n  Write-Output $x\n")
    assert tree.root_node.has_error


def test_embedded_scripts_match_files():
    assert SCRIPTS_PY.read_text() == render_scripts_module(), "run: python tests/exchange_fixtures.py"
    for path in SHIPPED:
        assert SCRIPTS[path.name].encode("utf-8") == path.read_bytes()


def test_bootstrap_command_line_fits_windows_limit():
    command, args = client_mod.bootstrap_command()
    line = command + " " + " ".join(args)
    assert len(line) < client_mod.COMMAND_LINE_LIMIT
    encoded = args[args.index("-EncodedCommand") + 1]
    assert base64.b64decode(encoded).decode("utf-16-le") == SCRIPTS["bootstrap.ps1"]


@pytest.mark.parametrize("name", INJECTIONS)
def test_inputs_travel_as_data(name):
    payload = client_mod.stdin_payload("set_transport_agents.ps1", {"operations": [{"identity": name}]})
    doc = json.loads(base64.b64decode(payload.strip()).decode("utf-8"))
    # The script is the shipped text, untouched; the name only exists inside the JSON input.
    assert doc["script"] == SCRIPTS["set_transport_agents.ps1"]
    assert name not in doc["script"]
    assert doc["input"]["operations"][0]["identity"] == name
    # And the command line never carries it.
    assert name not in " ".join(client_mod.bootstrap_command()[1])


def test_scripts_take_input_only_through_param():
    for name, text in SCRIPTS.items():
        if name == "bootstrap.ps1":
            continue
        assert "param($In)" in text
        # Nothing builds code from strings at run time.
        assert "Invoke-Expression" not in text and "iex " not in text.lower()


def test_agent_path_runs_on_powershell_2():
    # Exchange 2010 runs Windows PowerShell 2.0 (issue 15): no ConvertFrom-Json / ConvertTo-Json (3.0+),
    # no member access on dictionaries that 2.0 may not adapt; only *-TransportAgent among Exchange cmdlets.
    for name, text in SCRIPTS.items():
        assert "ConvertFrom-Json" not in text.replace("no ConvertFrom-Json", "")
        assert "ConvertTo-Json" not in text and "$In." not in text
        for cmdlet in ("Get-ExchangeServer", "Get-SendConnector", "Get-ReceiveConnector", "Set-SendConnector"):
            assert cmdlet not in text.replace("such as Get-ExchangeServer", ""), (name, cmdlet)
    assert "JavaScriptSerializer" in SCRIPTS["bootstrap.ps1"]
