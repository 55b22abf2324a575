# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mail servers: the role runs mta_info on each one over its own connection (SSH) with become, as the run will;
its answer proves SSH, become and the MTA found. This file reads those answers into checks."""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._preflight.common import check

P = "mta"
_BECOME_PASSWORD = ("a password is required", "missing sudo password", "incorrect sudo password",
                    "incorrect su password", "sorry, try again")
_BECOME_DENIED = ("not in the sudoers", "not allowed to execute", "may not run sudo")


def probe(domain, results):
    """``results``: one {host, unreachable, failed, msg, mta, config_dir} per mail server (the role's summary)."""
    out = []
    for item in results:
        # The inventory host the role delegated to (mta_info's own ``host`` is the server's host name).
        host = (item.get("item") or {}).get("host") or item.get("host") or "?"
        obj = "mail server %s" % host
        msg = " ".join(str(item.get("msg") or "").split())[:400]
        low = msg.lower()
        if item.get("unreachable"):
            out.append(check(P, obj, "SSH", False, True, "unreachable: %s" % msg,
                             "check ansible_host, ansible_user and the SSH key of %s in the inventory" % host,
                             "needs_credentials" if "permission denied" in low or "authentication" in low
                             else "unreachable"))
            continue
        if item.get("failed"):
            if any(word in low for word in _BECOME_PASSWORD):
                out.append(check(P, obj, "become", False, True, msg, "give the become password "
                                 "(ansible_become_password) for %s, or allow the user sudo without one" % host,
                                 "needs_credentials"))
            elif any(word in low for word in _BECOME_DENIED):
                out.append(check(P, obj, "become", False, True, msg, "allow the SSH user of %s to run commands as "
                                 "root through sudo" % host, "needs_role"))
            else:
                out.append(check(P, obj, "MTA found", False, True, msg, "give mta and config_dir for %s in "
                                 "unroute_mta_hosts, or fix what the message names" % host, "unproven"))
            continue
        out.append(check(P, obj, "SSH, become and the MTA", True, True, "%s read in %s"
                         % (item.get("mta") or "the MTA", item.get("config_dir") or "its configuration")))
    return out
