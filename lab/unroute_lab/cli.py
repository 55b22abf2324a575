"""``unroute-lab``: bring the lab up and down, show and dump its state, switch faults."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from . import estate as estate_mod
from . import mta as mta_lab
from .secondary import is_stalled
from .manifest import Lab
from .pki import LabPKI
from .services import load_services
from .services.base import LabContext

DEFAULT_ESTATE = Path(__file__).parent / "estates" / "default.yml"
DEFAULT_DIR = os.environ.get("UNROUTE_LAB_DIR", ".lab")


def _alive(pid):
    try:
        # Reap it first when it is our own child, or a dead child would look alive as a zombie.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _pids(directory):
    path = Path(directory) / "pids.json"
    return json.loads(path.read_text()) if path.exists() else {}


def up(estate_path, directory, quiet=False, inventory_copy=None):
    directory = Path(directory).resolve()
    if any(_alive(pid) for pid in _pids(directory).values()):
        raise SystemExit("unroute-lab: a lab is already running in %s; run 'unroute-lab down --dir %s'"
                         % (directory, directory))
    estate = estate_mod.load(estate_path)
    for stale in ("supervisor.json", "lab.json", "inventory.yml"):
        (directory / stale).unlink(missing_ok=True)
    directory.mkdir(parents=True, exist_ok=True)
    pki = LabPKI(directory / "pki")
    zones = [d.name for d in estate.domains]
    manifest = {"dir": str(directory), "estate": str(Path(estate_path).resolve()), "ca": str(pki.ca_path),
                "services": {}, "domains": {}}
    pids = {}
    ctx = LabContext(estate, directory, pki, services=manifest["services"], pids=pids)
    host_vars = {d.name: {} for d in estate.domains}
    supervised = False
    for cls in load_services():
        if not cls.wanted(estate):
            continue
        if not cls.process:
            if not supervised:
                # Every emulator runs in the one supervisor process, started where the first one stands.
                supervised = True
                _supervise(directory, estate_path, manifest, pids, host_vars)
            continue
        service = cls(ctx)
        try:
            service.publish(manifest["services"], service.start())
        finally:
            # Written after every start, and after a failed one too, so that 'down' stops what did start.
            _write_pids(directory, pids)
        for domain in estate.domains:
            host_vars[domain.name].update(service.host_vars(domain) or {})
    for domain in estate.domains:
        if domain.outside:
            continue  # served by BIND (its zone list), but not one of the customer's domains
        # Keyed as the inventory names the host (a unicode domain as written); "zone" is what DNS serves.
        manifest["domains"][domain.display or domain.name] = {
            "platform": domain.platform, "dns_provider": domain.dns_provider, "zone": domain.name,
            "vars": host_vars[domain.name]}
    (directory / "lab.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    (directory / "inventory.yml").write_text(inventory_yaml(manifest, estate))
    # The same domains for the estate inventory plugin, which detects each platform from MX through the lab's BIND.
    (directory / "domains.estate.yml").write_text(yaml.safe_dump({
        "plugin": "mxhero.unroute.estate", "nameservers": [manifest["services"]["dns"]["server"]],
        # The lab's PowerDNS names are its own, as a customer's self-hosted servers would be.
        "ns_providers": {"ns*.pdns-lab.test": "powerdns"},
        "port": manifest["services"]["dns"]["port"],
        "domains": [d.display or d.name for d in estate.domains if not d.outside]}, sort_keys=False))
    if inventory_copy:
        Path(inventory_copy).parent.mkdir(parents=True, exist_ok=True)
        Path(inventory_copy).write_text((directory / "inventory.yml").read_text())
    if not quiet:
        print("lab up in %s: %d domains, services: %s" % (directory, len(zones), ", ".join(manifest["services"])))
        print("manifest: %s\ninventory: %s" % (directory / "lab.json", directory / "inventory.yml"))
    return manifest


def _write_pids(directory, pids):
    (directory / "pids.json").write_text(json.dumps(pids))


def _supervise(directory, estate_path, manifest, pids, host_vars):
    sup = _start_supervisor(directory, estate_path)
    pids["supervisor"] = sup["pid"]
    _write_pids(directory, pids)
    manifest["control_port"] = sup["control_port"]
    manifest["services"].update(sup["services"])
    for name, values in sup["host_vars"].items():
        host_vars[name].update(values)


def _start_supervisor(directory, estate_path):
    log = open(directory / "supervisor.log", "ab")
    # The supervisor must import this very lab package, even from a checkout that is not the installed one.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                                     os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen([sys.executable, "-m", "unroute_lab.supervisor", "--dir", str(directory),
                             "--estate", str(Path(estate_path).resolve())],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                            env=env)
    ready = directory / "supervisor.json"
    # A large estate on a loaded machine takes longer (300 hosted zones in moto): UNROUTE_LAB_START_TIMEOUT.
    limit = float(os.environ.get("UNROUTE_LAB_START_TIMEOUT") or 60)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if ready.exists():
            info = json.loads(ready.read_text())
            info["pid"] = proc.pid
            return info
        if proc.poll() is not None:
            raise SystemExit("unroute-lab: the emulated services failed to start; see %s"
                             % (directory / "supervisor.log"))
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("unroute-lab: the emulated services did not start within %gs (UNROUTE_LAB_START_TIMEOUT)"
                     % limit)


def inventory_yaml(manifest, estate):
    """One host per domain, grouped by platform, ready for playbooks/ (connection local)."""
    dns = manifest["services"]["dns"]
    groups = {}
    for domain in estate.domains:
        if domain.outside:
            continue  # a third party's zone (an SPF service): served, but not one of the customer's domains
        # A unicode domain is written as a customer writes it (bücher.test); the role works on its A-label.
        shown = domain.display or domain.name
        host = {"unroute_domain": shown, "unroute_platform": domain.platform}
        host.update(manifest["domains"][shown]["vars"])
        if domain.dns_provider in estate_mod.MANUAL_HOSTS:
            # No API: the modules read the public view (the lab's BIND) and say what to click.
            host.update(unroute_dns_provider="manual", unroute_dns_host=domain.dns_provider)
        elif domain.dns_provider != "bind":
            # Proof on every nameserver asks the zone's NS through the system resolver for a hosted provider;
            # the lab's provider NS names (awsdns, cloudflare, pdns-lab.test) resolve nowhere.
            host.update(unroute_dns_verify="none")
        host.update(domain.host_vars)
        groups.setdefault(domain.platform, {"hosts": {}})["hosts"][shown] = host
        if domain.expect_error:
            # Cases built to be refused (REFUSED zone, two SPF records...): the demo expects them in error.
            groups.setdefault("expected_errors", {"hosts": {}})["hosts"][shown] = {
                "unroute_lab_expected_error": domain.expect_error}
    if "mta" in manifest["services"]:
        # Mail servers are hosts of their own (reached over SSH), not domains: the playbooks leave this group out.
        groups[mta_lab.GROUP] = mta_lab.inventory_group(manifest["services"]["mta"])
    inventory = {"all": {
        "vars": {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "unroute_lab_manifest": str(Path(manifest["dir"]) / "lab.json"),
            "unroute_dns_server": dns["server"],
            "unroute_dns_port": dns["port"],
            "unroute_dns_protocol": dns["protocol"],
            "unroute_dns_key_name": dns["key_name"],
            "unroute_dns_key_algorithm": dns["key_algorithm"],
            "unroute_dns_key_secret": "{{ lookup('ansible.builtin.file', '%s') }}" % dns["key_secret_file"],
            # The role proves each change on every nameserver; in the lab they answer in well under a
            # second, and a stalled secondary should not hold a demo up for the production default.
            "unroute_dns_verify_timeout": 10,
            # The collection is told each emulated vendor's limit, as an operator tells it an account's: the
            # estate's budget where it sets one, else none to speak of (the emulators enforce nothing then).
            "unroute_budgets": dict((service, estate.budget(service) or {"rate": 100000, "per": 1})
                                    for service in estate_mod.BUDGETED),
        },
        "children": groups,
    }}
    return "# Generated by unroute-lab up; do not edit.\n" + yaml.safe_dump(inventory, sort_keys=False)


def down(directory):
    directory = Path(directory)
    pids = _pids(directory)
    for cls in load_services():
        cls.down(directory)
    for pid in pids.values():
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGTERM)
            except OSError:
                os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in pids.values()):
        time.sleep(0.05)
    for pid in pids.values():
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    (directory / "pids.json").unlink(missing_ok=True)
    return len(pids)


def status(directory):
    directory = Path(directory)
    pids = _pids(directory)
    out = {"dir": str(directory.resolve()), "running": {name: _alive(pid) for name, pid in pids.items()}}
    if (directory / "lab.json").exists():
        manifest = json.loads((directory / "lab.json").read_text())
        out["services"] = {name: {k: v for k, v in svc.items() if k in ("server", "port", "url", "endpoint")}
                           for name, svc in manifest["services"].items()}
        out["domains"] = len(manifest["domains"])
        secondary = manifest["services"]["dns"].get("secondary")
        if secondary:
            out["faults"] = {"dns": {"secondary_stalled": is_stalled(secondary)}}
    return out


def _fault_args(parser, args):
    """``fault --service S SPEC`` or ``fault S SPEC``; SPEC is JSON or a bare fault kind."""
    words = list(args.words)
    service = args.service or (words.pop(0) if words else None)
    if not service:
        parser.error("fault: name the service (--service NAME or as the first word)")
    if len(words) > 1:
        parser.error("fault: one SPEC after the service, got %s" % " ".join(words))
    text = words[0] if words else "{}"
    spec = json.loads(text) if text.lstrip().startswith("{") else {"kind": text}
    return service, spec


def main(argv=None):
    parser = argparse.ArgumentParser(prog="unroute-lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start BIND, the emulated services and the mail servers of an estate")
    p_up.add_argument("--estate", default=str(DEFAULT_ESTATE), help="estate file (default: the shipped estate)")
    p_up.add_argument("--dir", default=DEFAULT_DIR)
    p_up.add_argument("--inventory", help="also write the inventory here (e.g. inventories/lab/hosts.yml)")
    for name, text in (("down", "stop the lab"), ("status", "show what runs"), ("dump", "print full state as JSON")):
        sub.add_parser(name, help=text).add_argument("--dir", default=DEFAULT_DIR)
    p_fault = sub.add_parser("fault", help="switch a fault on in an emulated service (or --clear); "
                                           "'fault dns secondary_stalled' stops the BIND secondary's transfers")
    p_fault.add_argument("--dir", default=DEFAULT_DIR)
    p_fault.add_argument("--service", help="the service (or give it as the first word: 'fault dns ...')")
    p_fault.add_argument("--clear", action="store_true")
    p_fault.add_argument("words", nargs="*", metavar="[SERVICE] SPEC",
                         help='a fault kind, or JSON, e.g. \'{"kind": "429", "count": 2}\'')
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            up(args.estate, args.dir, inventory_copy=args.inventory)
        elif args.command == "down":
            print("stopped %d process(es)" % down(args.dir))
        elif args.command == "status":
            print(json.dumps(status(args.dir), indent=2))
        elif args.command == "dump":
            print(json.dumps(Lab(args.dir).state(), indent=2, sort_keys=True))
        elif args.command == "fault":
            service, spec = _fault_args(parser, args)
            lab = Lab(args.dir)
            result = lab.clear_faults(service) if args.clear else lab.fault(service, **spec)
            print(json.dumps(result))
    except (estate_mod.EstateError, FileNotFoundError, RuntimeError) as err:
        print("unroute-lab: %s" % err, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
