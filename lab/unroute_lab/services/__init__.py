"""Registry of the lab's emulated services, run by the supervisor process.

Each entry is "module:Class" for a :class:`unroute_lab.services.base.LabService`.
A service starts only when some domain of the estate has its section.
"""

from __future__ import annotations

import importlib

REGISTRY = [
    # Google Workspace
    "unroute_lab.services.google:GoogleService",

    # Exchange Online
    "unroute_lab.services.exo:ExchangeOnlineService",

    # Exchange Server over WinRM
    "unroute_lab.services.winrm:WinRMService",

    # Hosted DNS providers
    "unroute_lab.services.powerdns:PowerDnsService",
    "unroute_lab.services.route53:Route53Service",
    "unroute_lab.services.cloudflare:CloudflareService",
    "unroute_lab.services.azure_dns:AzureDnsService",
    "unroute_lab.services.google_cloud_dns:GoogleCloudDnsService",

    # An egress proxy for tasks with environment: HTTPS_PROXY
    "unroute_lab.services.proxy:ProxyService",

]


def load_services():
    classes = []
    for entry in REGISTRY:
        module_name, class_name = entry.split(":")
        classes.append(getattr(importlib.import_module(module_name), class_name))
    return classes
