# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""After a real run: is each changed zone still a working mail zone? (issue 24)

A small read, through the DNS engine's provider, of the zone's apex and of every name the run changed: at
least one MX (a null MX only where it was already there - this collection never writes one, the replacement
check refuses '.'), at most one SPF record per name (two are a permerror, RFC 7208 3.2), and no more DNS
lookups in an SPF record than RFC 7208 4.6.4 allows. Nested includes are followed by the SPF chain check,
not here: this counts the record's own terms, which is what the run edited.
"""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._dns import spf as spf_codec
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.mx import parse_mx

LOOKUP_LIMIT = 10
# Terms that cost a DNS lookup when evaluated (RFC 7208 4.6.4); ip4/ip6/all do not.
_LOOKUP_TERMS = ("include", "a", "mx", "ptr", "exists", "redirect")


def lookups(policy):
    """DNS-querying terms of one SPF policy, counted without following includes."""
    return sum(1 for term in spf_codec.parse(policy) if term.name in _LOOKUP_TERMS)


def check(read, txt_policy, zone, names=(), mx_before=None):
    """``read(name, rdtype) -> RRset`` (the provider's read), ``txt_policy(value) -> text``.

    Returns ``{ok, problems, notes, names, summary}``: ``problems`` say what is wrong (one line each, naming the
    record), ``notes`` what is worth knowing but right (a null MX kept). ``mx_before``, when given, is the apex
    MX values before the run: a null MX not among them is a problem.
    """
    apex = zone.rstrip(".").lower() + "."
    wanted = [apex] + [n.rstrip(".").lower() + "." for n in names or ()]
    checked = []
    for name in wanted:
        if name not in checked:
            checked.append(name)
    problems, notes = [], []
    for name in checked:
        _check_mx(name, read(name, "MX").values, name == apex, mx_before, problems, notes)
        policies = [txt_policy(v) for v in read(name, "TXT").values]
        spf = [p for p in policies if spf_codec.is_spf(p)]
        if len(spf) > 1:
            problems.append("%s has %d SPF records; receivers treat that as a permanent error (RFC 7208 3.2): "
                            "merge them into one" % (name, len(spf)))
        for policy in spf:
            try:
                count = lookups(policy)
            except ValueError:
                continue
            if count > LOOKUP_LIMIT:
                problems.append("%s SPF record needs %d DNS lookups, more than the %d RFC 7208 4.6.4 allows "
                                "(permerror): flatten or drop includes" % (name, count, LOOKUP_LIMIT))
    ok = not problems
    shown = ", ".join(n.rstrip(".") for n in checked)
    summary = ("ok: %s (the apex has MX, at most one SPF record per name, SPF lookups within %d)"
               % (shown, LOOKUP_LIMIT) if ok else "; ".join(problems))
    if notes:
        summary += " (%s)" % "; ".join(notes)
    return {"ok": ok, "problems": problems, "notes": notes, "names": checked, "summary": summary}


def _check_mx(name, values, apex, mx_before, problems, notes):
    parsed = []
    for value in values:
        try:
            parsed.append((value, parse_mx(value)[1]))
        except ValueError:
            parsed.append((value, value))
    null = [value for value, exchange in parsed if exchange == "."]
    if not parsed:
        if apex:
            problems.append("%s has no MX record left: senders fall back to its address record or bounce mail; "
                            "add the domain's mail service as MX" % name)
        return
    if null and len(parsed) > len(null):
        problems.append("%s has a null MX next to other MX records, which RFC 7505 3 forbids: remove one of them"
                        % name)
    elif null:
        if apex and mx_before is not None and not any(parse_mx(v)[1] == "." for v in mx_before if v):
            problems.append("%s has only a null MX (accepts no mail), which it did not have before the run: put "
                            "the domain's mail service back as MX" % name)
        else:
            notes.append("%s has a null MX (RFC 7505): it accepts no mail, as it did before" % name)
