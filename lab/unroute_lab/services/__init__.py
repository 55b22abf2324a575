"""Registry of the lab's services, in the order 'unroute-lab up' starts them.

Each entry is "module:Class" for a :class:`unroute_lab.services.base.LabService`. A service starts only when
its ``wanted(estate)`` says so (by default: some domain of the estate has its section). Process services
(``process = True``: BIND, Postfix, sshd) are started by 'up' itself; the emulators all run in the one
supervisor process, started where the first of them stands. See docs/lab.md.
"""

from __future__ import annotations

import importlib

REGISTRY = [
    # The public DNS: BIND 9, the primary of every zone, and its secondary for zones with dns.secondary
    "unroute_lab.bind:BindService",
    "unroute_lab.secondary:SecondaryService",

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

    # Mail servers: one Postfix instance per domain with an mta section, the SMTP sinks, and the sshd the
    # modules reach them through
    "unroute_lab.mta:MailServersService",
    "unroute_lab.sshd:SshdService",
]


def load_services(process=None):
    """The registry's classes in order; only the process services (True) or only the emulators (False)."""
    classes = []
    for entry in REGISTRY:
        module_name, class_name = entry.split(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        if process is None or cls.process == process:
            classes.append(cls)
    return classes
