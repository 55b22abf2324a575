# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which MX records go, which stay, and whether the domain would be left without mail routing."""

from __future__ import annotations


def parse_mx(value):
    """(preference, exchange) from an MX presentation value ``10 host.example.``."""
    pref, exchange = value.split(None, 1)
    return int(pref), exchange.strip().lower().rstrip(".") + "."


def mx_value(preference, exchange):
    exchange = exchange.strip()
    if not exchange.endswith("."):
        exchange += "."
    return "%d %s" % (int(preference), exchange.lower())


class MxPlan(object):
    def __init__(self, values, fingerprint, replacement=None):
        # Servers hand out an RRset in any order (BIND rotates it): plan in one order so that check mode and the
        # real run list the same findings in the same order.
        self.values = sorted(values, key=lambda v: (parse_mx(v), v))
        self.remove = []   # (value, evidence)
        self.keep = []
        for value in self.values:
            _pref, exchange = parse_mx(value)
            evidence = fingerprint.host(exchange)
            if evidence:
                self.remove.append((value, evidence))
            else:
                self.keep.append(value)
        wanted = [mx_value(r["preference"], r["exchange"]) for r in (replacement or [])]
        existing = set(mx_value(*parse_mx(v)) for v in self.keep)
        # A replacement is part of replacing mxHero: only added when something is removed.
        self.add = [v for v in wanted if v not in existing] if self.remove else []

    @property
    def changed(self):
        return bool(self.remove or self.add)

    @property
    def after(self):
        return self.keep + self.add

    @property
    def leaves_no_mx(self):
        return bool(self.remove) and not self.after
