# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate brake (issue 24): stop a real run before its first change when its plan would change more
domains than the operator allowed.

The decision lives here, apart from any playbook, so that the per-host path (playbooks/unroute.yml, which plans
every domain in check mode first) and the estate engine (one process for all domains) decide alike.
"""

from __future__ import annotations

import re

# A run of up to this many domains is within the brake and pays no planning pass; beyond it the run needs a
# reviewed plan (unroute_plan, which carries its own count), a higher limit, or unroute_force.
DEFAULT_LIMIT = 50
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_FIX = ("review an audit and apply it with -e unroute_plan=<audit>.json (it carries its own count), raise "
        "unroute_max_changed_domains, or go ahead anyway with -e unroute_force=true")


def parse_limit(limit):
    """``("count", n)`` or ``("percent", p)`` from 50, "50" or "30%"; ValueError (why, to follow the value)
    otherwise."""
    if limit is None or limit == "":
        return ("count", DEFAULT_LIMIT)
    if isinstance(limit, bool):
        raise ValueError("is no number of domains nor a percentage")
    if isinstance(limit, (int, float)):
        number, percent = limit, False
    else:
        text = str(limit).strip()
        match = _PERCENT.match(text)
        try:
            number, percent = (float(match.group(1)), True) if match else (float(text), False)
        except ValueError:
            raise ValueError("is no number of domains nor a percentage")
    if number < 0 or (percent and number > 100) or (not percent and number != int(number)):
        raise ValueError("is out of range (a whole number of domains, 0 or more, or a percentage from 0% to 100%)")
    return ("percent", float(number)) if percent else ("count", int(number))


def allowed(limit, total):
    """How many of the run's ``total`` domains may change (a percentage rounds down: the brake errs safe)."""
    kind, number = parse_limit(limit)
    if kind == "percent":
        return int(total * number // 100)
    return number


def describe(limit):
    kind, number = parse_limit(limit)
    return ("%g%% of the run's domains" % number) if kind == "percent" else ("%d domains" % number)


def needs_plan(total, limit, force=False, reviewed=False):
    """Whether the run must be planned before its first change: never when forced, when a reviewed plan gives
    the count, or when the run holds no more domains than the brake allows (it cannot be exceeded)."""
    if force or reviewed:
        return False
    return total > allowed(limit, total)


def check_brake(planned_domains, total, limit, force=False):
    """The decision for a run whose check-mode plan would change ``planned_domains`` of ``total`` domains.

    Returns ``{count, total, allowed, exceeded, stop, msg}``: ``stop`` is true when the run must change nothing,
    and ``msg`` is then the one line to show (the count, the limit, and how to proceed).
    """
    names = sorted(set(planned_domains))
    count = len(names)
    most = allowed(limit, total)
    exceeded = count > most
    stop = exceeded and not force
    if stop:
        shown = ", ".join(names[:5]) + (", ..." if count > 5 else "")
        msg = ("brake: this run would change %d of %d domains (%s), more than unroute_max_changed_domains allows "
               "(%s: %d); nothing was changed: %s" % (count, total, shown, describe(limit), most, _FIX))
    elif exceeded:
        msg = ("brake: this run changes %d of %d domains, more than unroute_max_changed_domains allows (%s: %d); "
               "going ahead because unroute_force is set" % (count, total, describe(limit), most))
    else:
        msg = "brake: this run would change %d of %d domains; unroute_max_changed_domains allows %d" % (
            count, total, most)
    return {"count": count, "total": total, "allowed": most, "exceeded": exceeded, "stop": stop, "msg": msg,
            "domains": names}
