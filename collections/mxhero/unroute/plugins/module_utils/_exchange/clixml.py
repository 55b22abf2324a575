# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn PowerShell's CLIXML error stream into plain text.

powershell.exe writes its error records to stderr as ``#< CLIXML`` followed by
serialised objects; the human text sits in ``<S S="Error">`` elements with
control characters escaped as ``_xHHHH_``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_PREFIX = "#< CLIXML"
_TRAILER = re.compile(r"^(At line:\d+|At .+:\d+ char:\d+|\+ )")


def _unescape(text):
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text or "")


def error_text(stderr):
    """The error lines of a stderr stream (CLIXML or plain), joined into one line."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else str(stderr or "")
    text = text.strip()
    if not text.startswith(_PREFIX):
        return " ".join(line.strip() for line in text.splitlines() if line.strip())
    body = text[len(_PREFIX):].strip()
    lines = []
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        # A truncated stream still carries readable error text.
        lines = [_unescape(m) for m in re.findall(r'<S S="Error">(.*?)</S>', body, re.S)]
    else:
        for node in root.iter():
            if node.tag.rsplit("}", 1)[-1] == "S" and node.get("S") == "Error":
                lines.append(_unescape(node.text))
    kept = []
    for part in "".join(lines).splitlines():
        part = part.strip()
        # The message comes first; position ("At line:1 char:1") and category lines ("+ CategoryInfo ...")
        # follow it and only repeat what the message says.
        if _TRAILER.match(part):
            break
        if part:
            kept.append(part)
    return " ".join(kept)
