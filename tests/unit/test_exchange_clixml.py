"""CLIXML error streams become one readable line."""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.clixml import error_text

SAMPLE = (b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
          b'<S S="Error">Transport agent "mxHero" isn\'t found._x000D__x000A_</S>'
          b'<S S="Error">    + CategoryInfo          : NotSpecified: (:) [], ManagementObjectNotFoundException_x000D__x000A_</S>'
          b'</Objs>')


def test_clixml_error_lines():
    text = error_text(SAMPLE)
    assert text.startswith('Transport agent "mxHero" isn\'t found.')
    assert "CategoryInfo" not in text, "category lines only repeat the message"
    assert "\n" not in text and "_x000D_" not in text


def test_plain_stderr():
    assert error_text(b"The command line is too long.\r\n") == "The command line is too long."


def test_truncated_clixml_still_readable():
    assert "isn't found" in error_text(SAMPLE[:150] + b"</S>")


def test_progress_records_are_ignored():
    data = (b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
            b'<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN>'
            b'</Obj><S S="Error">boom_x000A_</S></Objs>')
    assert error_text(data) == "boom"


def test_position_lines_are_dropped():
    data = (b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
            b'<S S="Error">Access is denied._x000D__x000A_</S><S S="Error">At line:12 char:9_x000D__x000A_</S>'
            b'<S S="Error">+ Disable-TransportAgent -Identity $identity_x000D__x000A_</S></Objs>')
    assert error_text(data) == "Access is denied."
