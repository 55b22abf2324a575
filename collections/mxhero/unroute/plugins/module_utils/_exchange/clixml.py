# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the parts of PowerShell's CLIXML that the Python clients leave as text.

powershell.exe writes its error records to stderr as ``#< CLIXML`` followed by
serialised objects; the human text sits in ``<S S="Error">`` elements with
control characters escaped as ``_xHHHH_``.

Exchange's remote PowerShell sends every multi-valued property (SmartHosts,
AddressSpaces, RemoteIPRanges, Bindings, EmailAddresses...) as an object typed
``Microsoft.Exchange.Data.MultiValuedProperty`1[[<item type>]]`` holding a
``<LST>`` and no ``<ToString>``. pypsrp (0.9) knows no such type: it returns a
generic object whose property set keeps the ``<LST>`` element as raw CLIXML
text. ``list_items`` reads that text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_PREFIX = "#< CLIXML"
_TRAILER = re.compile(r"^(At line:\d+|At .+:\d+ char:\d+|\+ )")


# CLIXML list elements: ArrayList-like (LST), IEnumerable (IE), Stack (STK), Queue (QUE).
LIST_TAGS = ("LST", "IE", "STK", "QUE")
# Primitive elements whose text is the value as PowerShell's [string] would print it.
_TEXT_TAGS = ("S", "URI", "XD", "SBK", "DT", "TS", "By", "SB", "U16", "I16", "U32", "I32", "U64", "I64", "Sg", "Db",
              "D", "G", "Version")


class Unreadable(object):
    """A deserialised value that has no text the collection can use, and why.

    Kept in place of the value so that only a property the collection reads
    fails (objects.py turns it into an error naming the property); a property it
    never reads may be in any shape.
    """

    def __init__(self, types, why):
        self.types = list(types or [])
        self.why = why

    @property
    def type_name(self):
        # Assembly qualifications (", Microsoft.Exchange.Data, Version=...") only make the message long.
        return re.sub(r", [^\[\]]*", "", self.types[0]) if self.types else "an object"

    def __repr__(self):
        return "Unreadable(%s: %s)" % (self.type_name, self.why)


def _unescape(text):
    # Characters outside the BMP arrive as two escaped UTF-16 surrogates.
    value = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text or "")
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def parse_list(raw):
    """The element of ``raw`` when it is a CLIXML list (``<LST>...</LST>``), else None."""
    if not isinstance(raw, str) or not raw.lstrip().startswith("<"):
        return None
    try:
        element = ET.fromstring(raw.strip())
    except ET.ParseError:
        return None
    return element if _local(element.tag) in LIST_TAGS else None


def list_items(element):
    """The items of a CLIXML list element as text; ValueError says which item cannot be read."""
    items = []
    for child in element:
        tag = _local(child.tag)
        if tag == "Nil":
            continue
        if tag in _TEXT_TAGS:
            items.append(_unescape(child.text))
        elif tag == "B":
            items.append("True" if (child.text or "").strip().lower() == "true" else "False")
        elif tag == "C":
            items.append(chr(int(child.text or "0")))
        elif tag == "Obj":
            text = child.find("ToString")
            if text is None:
                names = [t.text for t in child.iter() if _local(t.tag) == "T"]
                raise ValueError("an item %s without text (no <ToString>)"
                                 % (Unreadable(names, "").type_name if names else "object"))
            items.append(_unescape(text.text))
        elif tag == "Ref":
            raise ValueError("an item that refers to an object outside the list (<Ref>)")
        else:
            raise ValueError("an item of CLIXML type <%s>" % tag)
    return items


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
