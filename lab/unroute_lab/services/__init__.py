"""Registry of the lab's emulated services, run by the supervisor process.

Each entry is "module:Class" for a :class:`unroute_lab.services.base.LabService`.
A service starts only when some domain of the estate has its section.
"""

from __future__ import annotations

import importlib

REGISTRY = [
    # Google Workspace (issue 5) below this line
    "unroute_lab.services.google:GoogleService",

    # Exchange Online (issue 4) below this line
    "unroute_lab.services.exo:ExchangeOnlineService",

    # Exchange Server over WinRM (issue 3) below this line
    "unroute_lab.services.winrm:WinRMService",

    # Hosted DNS providers (issue 11) below this line
    "unroute_lab.services.powerdns:PowerDnsService",
    "unroute_lab.services.route53:Route53Service",
    "unroute_lab.services.cloudflare:CloudflareService",

    # An egress proxy for tasks with environment: HTTPS_PROXY (issue 16)
    "unroute_lab.services.proxy:ProxyService",

]


def load_services():
    classes = []
    for entry in REGISTRY:
        module_name, class_name = entry.split(":")
        classes.append(getattr(importlib.import_module(module_name), class_name))
    return classes
