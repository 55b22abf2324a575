"""Shared helpers for the Microsoft 365 / Exchange Online tests: a lab of small tenants, module arguments."""

from __future__ import annotations

from pathlib import Path

import yaml

from unroute_lab import cli as lab_cli
from unroute_lab.manifest import Lab


def tenant(name, description="", **section):
    return {"name": name, "platform": "microsoft365", "description": description,
            "dns": {"records": ["@ 3600 IN MX 0 %s.mail.protection.outlook.com." % name.replace(".", "-")]},
            "microsoft365": section}


def start_lab(directory, domains):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "estate.yml"
    path.write_text(yaml.safe_dump({"domains": domains}, sort_keys=False))
    lab_cli.up(str(path), str(directory / "run"), quiet=True)
    return Lab(directory / "run")


def stop_lab(lab):
    lab_cli.down(str(lab.dir))


def exo_args(lab, domain, credential="certificate", **extra):
    svc = lab.service("exo")
    app = svc["tenants"][domain]
    args = dict(tenant_id=app["tenant_id"], client_id=app["client_id"], domain=domain,
                authority_host=svc["authority_host"], api_endpoint=svc["api_endpoint"], ca_path=svc["ca"])
    if credential == "certificate":
        args["certificate_path"] = app["certificate_path"]
    elif credential == "pfx":
        args["certificate_path"] = app["pfx_path"]
        args["certificate_password"] = Path(app["pfx_password_file"]).read_text()
    else:
        args["client_secret"] = Path(app["client_secret_file"]).read_text()
    args.update(extra)
    return args


def tenant_state(lab, domain):
    return lab.state()["exo"]["tenants"][domain]


def by_name(items):
    return {item["Name"]: item for item in items}


def requests_log(lab):
    return lab.state()["exo"]["requests"]
