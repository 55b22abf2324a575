"""The lab's mail servers: one real Postfix instance per estate domain with an ``mta`` section, one sshd
through which the modules reach them as remote hosts, and an SMTP sink standing for mxHero.

Estate section (docs/lab.md)::

    mta:
      software: postfix                  # the only MTA the lab runs (Exim/Sendmail conflict with it as packages)
      running: true                      # start the instance (smtpd on a free loopback port)
      relayhost: "[smtp.mxhero.com]:25"  # any main.cf parameter by name, or under main:
      smtp_fallback_relay: "[backup.acme.test], smtp.mxhero.com"
      main: {default_transport: "smtp:[smtp.mxhero.com]:25"}
      transport_maps: ["example.com smtp:[smtp.mxhero.com]"]      # table lines; the parameter points at
      sender_dependent_relayhost_maps: ["@acme.test [smtp.mxhero.com]:587"]   # hash:DIR/<parameter>
      master_overrides: {outbound: {relayhost: "[smtp.mxhero.com]:25"}}       # master.cf service -o
      host: {state: replaced, replacement: "{customer_sink}"}                # this server's unroute_mta_hosts entry

``{mxhero_sink}`` / ``{customer_sink}`` in a value become ``[127.0.0.2]:PORT`` / ``[127.0.0.3]:PORT`` (the lab's
sinks); a domain using ``{mxhero_sink}`` gets ``unroute_fingerprint.mxhero_ips: [127.0.0.2]``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import postfix
from .smtp_sink import received
from .services.base import LabService
from .ports import free_port

GROUP = "unroute_mail_servers"
MAPS = ("transport_maps", "sender_dependent_relayhost_maps", "sender_dependent_default_transport_maps")
SINKS = {"mxhero": "127.0.0.2", "customer": "127.0.0.3"}
KNOWN = {"software", "running", "main", "master_overrides", "host"} | set(MAPS)


def check_section(section):
    """Why an estate's ``mta`` section cannot be built, or None."""
    if not isinstance(section, dict):
        return "mta must be a mapping (software, relay parameters, maps, master_overrides)"
    if section.get("software", "postfix") != "postfix":
        return ("mta.software %r: the lab runs Postfix only (Exim and Sendmail conflict with it as Debian "
                "packages; the tests cover them)" % section.get("software"))
    for name in MAPS:
        if not isinstance(section.get(name, []), list):
            return "mta.%s must be a list of table lines" % name
    for key in ("main", "master_overrides", "host"):
        if not isinstance(section.get(key, {}), dict):
            return "mta.%s must be a mapping" % key
    for service, params in (section.get("master_overrides") or {}).items():
        if not isinstance(params, dict):
            return "mta.master_overrides.%s must be a mapping of parameter: value" % service
    return None


def wanted(estate):
    return [d for d in estate.domains if d.section("mta") is not None]


def mail_host(domain):
    return "mail.%s" % domain.name


def _fill(value, sinks):
    text = str(value)
    for name, sink in sinks.items():
        text = text.replace("{%s_sink}" % name, "[%s]:%d" % (sink["address"], sink["port"]))
    return text


def _uses_mxhero_sink(section):
    return "{mxhero_sink}" in json.dumps(section)


def _start_sinks(base, pids):
    ready = base / "sink.json"
    log = open(str(base / "sink.log"), "ab")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                                     os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "unroute_lab.smtp_sink", "--spool", str(base / "sink"), "--ready", str(ready)]
    for name, address in SINKS.items():
        command += ["--listen", "%s=%s" % (name, address)]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=env)
    pids["smtp_sink"] = proc.pid
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ready.exists():
            sinks = json.loads(ready.read_text())
            for name in sinks:
                sinks[name]["spool"] = str(base / "sink" / name)
            return sinks
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError("the lab's SMTP sink did not start; see %s" % (base / "sink.log"))


def _spool_base(base):
    """Where an instance's queue goes: under the lab folder when the postfix user can reach it, else (a private
    temporary folder such as pytest's) in a folder of its own under the system's temp dir, linked from the lab."""
    if postfix.reachable_by_others(base):
        return base, None
    outside = Path(tempfile.mkdtemp(prefix="unroute-lab-postfix-"))
    outside.chmod(0o755)
    return outside, str(outside)


def start(directory, estate, pids):
    """Build and start everything; record the process ids in ``pids``; return the manifest entry."""
    if not postfix.installed():
        raise RuntimeError("the estate has mta domains but Postfix is not installed; run scripts/setup.sh "
                           "(apt-get install postfix)")
    if os.geteuid() != 0:
        raise RuntimeError("the estate has mta domains: running Postfix instances needs root; run the lab as root")
    base = Path(directory) / "mta"
    stop(directory)
    shutil.rmtree(str(base), ignore_errors=True)
    base.mkdir(parents=True)
    sinks = _start_sinks(base, pids)
    instances = {}
    for domain in wanted(estate):
        section = domain.section("mta")
        home = base / domain.name
        spool, outside = _spool_base(home.parent)
        spool = spool / domain.name if outside is None else spool
        port = free_port()
        main = {k: v for k, v in section.items() if k not in KNOWN}
        main.update(section.get("main") or {})
        tables = {}
        for name in MAPS:
            if section.get(name):
                tables[name] = "".join(_fill(line, sinks) + "\n" for line in section[name])
                main[name] = "hash:DIR/%s" % name
        master = []
        for service, params in (section.get("master_overrides") or {}).items():
            master.append("%s unix - - n - - smtp" % service)
            master.extend("  -o %s=%s" % (k, _fill(v, sinks)) for k, v in params.items())
        config_dir = postfix.build(home, main={k: _fill(v, sinks) for k, v in main.items()}, master_lines=master,
                                   tables=tables, spool=spool, port=port)
        if outside:
            (home / "spool").symlink_to(outside)
        if section.get("running", True):
            postfix.start(config_dir)
        instances[domain.name] = {"host": mail_host(domain), "config_dir": str(config_dir), "smtp_port": port,
                                  "running": bool(section.get("running", True)), "spool": str(spool),
                                  "outside_spool": outside, "entry": dict(section.get("host") or {}),
                                  "mxhero_sink": _uses_mxhero_sink(section)}
        for key in ("replacement",):
            if key in instances[domain.name]["entry"]:
                instances[domain.name]["entry"][key] = _fill(instances[domain.name]["entry"][key], sinks)
    # The sshd the modules reach these servers through is a service of its own (sshd.SshdService, after this one
    # in the registry): it adds "port" and "ssh" to this entry.
    return {"sinks": sinks, "instances": instances, "python": sys.executable}


class MailServersService(LabService):
    """The estate's Postfix instances and the SMTP sinks standing for mxHero and the customer's own relay."""

    name = "mta"
    section = "mta"
    process = True

    def start(self):
        self.entry = start(self.ctx.dir, self.ctx.estate, self.ctx.pids)
        return self.entry

    def host_vars(self, domain):
        return host_vars(self.entry, domain)

    @classmethod
    def down(cls, directory):
        # Postfix daemonises: its master is in no process group of ours, so pids.json cannot stop it.
        stop(directory)


def host_vars(entry, domain):
    """A domain's inventory variables: its mail server in unroute_mta_hosts."""
    instance = (entry or {}).get("instances", {}).get(domain.name)
    if not instance:
        return {}
    server = dict(instance["entry"], host=instance["host"], mta="postfix", config_dir=instance["config_dir"])
    out = {"unroute_mta_hosts": [server],
           # The lab's sshd logs in as the user who runs the lab (root): there is nothing to become.
           "unroute_mta_become": False}
    if instance["mxhero_sink"]:
        out["unroute_fingerprint"] = {"mxhero_ips": [SINKS["mxhero"]]}
    return out


def inventory_group(entry):
    """The mail servers as inventory hosts (group unroute_mail_servers), reached over the lab's sshd."""
    hosts = {}
    for name, instance in sorted(entry["instances"].items()):
        hosts[instance["host"]] = dict(entry["ssh"], ansible_python_interpreter=entry["python"],
                                       unroute_mta_domain=name, unroute_mta_config_dir=instance["config_dir"])
    return {"hosts": hosts}


def _manifest_entry(directory):
    path = Path(directory) / "lab.json"
    if not path.exists():
        return None
    return json.loads(path.read_text()).get("services", {}).get("mta")


def stop(directory):
    """Stop every instance of the lab in ``directory`` (the sshd and the sinks are in pids.json)."""
    entry = _manifest_entry(directory)
    if not entry:
        return 0
    for instance in entry["instances"].values():
        postfix.stop(instance["config_dir"])
        if instance.get("outside_spool"):
            shutil.rmtree(instance["outside_spool"], ignore_errors=True)
    return len(entry["instances"])


def dump(entry):
    """Each instance's relay settings as Postfix reads them (postconf -n, master.cf -o), its maps, its queue."""
    out = {"sinks": {name: {"port": sink["port"], "received": [_subject(m) for m in received(sink["spool"])]}
                     for name, sink in entry["sinks"].items()}, "servers": {}}
    for name, instance in sorted(entry["instances"].items()):
        directory = instance["config_dir"]
        try:
            main = postfix.postconf(directory, "-n").splitlines()
            master = postfix.postconf(directory, "-P").splitlines()
        except (OSError, subprocess.CalledProcessError) as err:
            out["servers"][instance["host"]] = {"domain": name, "error": str(err)}
            continue
        tables = {p.name: p.read_text().splitlines() for p in sorted(Path(directory).iterdir())
                  if p.is_file() and p.name in MAPS}
        out["servers"][instance["host"]] = {
            "domain": name, "config_dir": directory, "smtp_port": instance["smtp_port"],
            "running": postfix.running(directory),
            "main.cf": [line for line in main if not line.startswith(("queue_directory", "data_directory"))],
            "master.cf": master, "maps": tables}
    return out


def _subject(message):
    for line in message.splitlines():
        if line.lower().startswith("subject:"):
            return line.split(":", 1)[1].strip()
    return ""
