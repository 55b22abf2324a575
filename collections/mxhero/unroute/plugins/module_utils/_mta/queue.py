# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mail still queued for mxHero (mta_info): Postfix ``postqueue -j``, Exim ``exim -bp``."""

from __future__ import annotations

import json
import re

from ansible_collections.mxhero.unroute.plugins.module_utils._mta import _cmd

_EXIM_HEAD = re.compile(r"^\s*(?P<age>\S+)\s+(?P<size>\S+)\s+(?P<id>[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4})"
                        r"\s+<(?P<sender>[^>]*)>(?P<frozen>\s+\*\*\* frozen \*\*\*)?")


def postfix(engine, relay_evidence):
    """(messages, caution or None). A message counts when a recipient's delay reason names an mxHero host or
    address, or, while the instance relays everything through mxHero, whenever it waits in the queue."""
    tool = _cmd.which("postqueue")
    if not tool:
        return [], "%s: postqueue is not installed; the queue was not read" % engine.host
    rc, out = _cmd.run([tool, "-c", engine.config_dir, "-j"])
    if rc != 0:
        return [], "%s: %s: queue not read (%s); start Postfix and run again to list mail waiting for mxHero" % (
            engine.host, engine.config_dir, _cmd.one_line(out))
    messages = []
    for line in out.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        for rcpt in entry.get("recipients") or []:
            reason = rcpt.get("delay_reason") or ""
            evidence = engine.fp.scan_text(reason) or list(relay_evidence)
            if evidence:
                messages.append({"queue_id": entry.get("queue_id"), "queue": entry.get("queue_name"),
                                 "sender": entry.get("sender"), "recipient": rcpt.get("address"),
                                 "reason": reason, "evidence": evidence})
    return messages, None


def exim(engine, relay_evidence):
    """Exim's queue listing names no next hop: every message counts while the smarthost is mxHero's."""
    tool = _cmd.which("exim4") or _cmd.which("exim")
    if not tool:
        return [], "%s: exim is not installed; the queue was not read" % engine.host
    rc, out = _cmd.run([tool, "-bp"])
    if rc != 0:
        return [], "%s: exim -bp failed (%s); the queue was not read" % (engine.host, _cmd.one_line(out))
    if not relay_evidence:
        return [], None
    messages, current = [], None
    for line in out.splitlines():
        head = _EXIM_HEAD.match(line)
        if head:
            current = head.groupdict()
            continue
        address = line.strip()
        if current and address and not address.startswith("D "):
            messages.append({"queue_id": current["id"], "queue": "frozen" if current["frozen"] else "queued",
                             "sender": current["sender"], "recipient": address.split()[-1], "reason": None,
                             "evidence": list(relay_evidence)})
    return messages, None
