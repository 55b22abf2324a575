"""Mail-server configurations for the mta_relay tests, and running the module through ansible-playbook.

Postfix is the real Debian package: each test gets its own instance directory (``postconf -c``) whose queue
lives under the test's tmp dir, so nothing touches the host's own Postfix. Exim and Sendmail files follow the
formats their Debian packages document (update-exim4.conf.conf, sendmail.mc, mailertable); their build tools
are stand-ins on PATH that record how they were called (see docs/mail-servers.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

needs_postfix = pytest.mark.skipif(
    not shutil.which("postconf", path=os.environ.get("PATH", "") + ":/usr/sbin") or os.geteuid() != 0,
    reason="needs the Debian postfix package (scripts/setup.sh installs it) and root for postfix check")

MASTER_DIST = Path("/usr/share/postfix/master.cf.dist")


def postconf(directory, *args):
    return subprocess.run(["/usr/sbin/postconf", "-c", str(directory)] + list(args), check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout


def postfix_instance(base, main=None, master_lines=(), tables=None):
    """A Postfix instance directory under ``base``: main.cf with ``main`` set (through postconf -e), master.cf
    from the package with ``master_lines`` appended, and lookup tables (name -> text, rebuilt with postmap)."""
    directory = base / "postfix"
    directory.mkdir()
    (base / "spool").mkdir()
    (base / "data").mkdir()
    (directory / "main.cf").write_text(textwrap.dedent("""\
        # main.cf of a test instance; everything below the line comes from the test
        compatibility_level = 3.6
        queue_directory = {base}/spool
        data_directory = {base}/data
        inet_interfaces = loopback-only
        inet_protocols = ipv4
        myhostname = mail.lab.test
        mydestination =
        alias_maps =
        alias_database =
        """).format(base=base))
    master = MASTER_DIST.read_text() if MASTER_DIST.exists() else "smtp inet n - y - - smtpd\n"
    (directory / "master.cf").write_text(master + "".join(line + "\n" for line in master_lines))
    for name, text in (tables or {}).items():
        (directory / name).write_text(textwrap.dedent(text))
    for name, value in (main or {}).items():
        postconf(directory, "-e", "%s=%s" % (name, value.replace("DIR", str(directory))))
    for name in tables or {}:
        subprocess.run(["/usr/sbin/postmap", "-c", str(directory), "hash:%s" % (directory / name)], check=True)
    return directory


def snapshot(directory):
    """Every file's bytes in the instance directory (backups included), to prove what a run left alone."""
    return {p.name: p.read_bytes() for p in sorted(Path(directory).iterdir()) if p.is_file()}


def play(tmp_path, args, check=False, diff=False, env=None, name="run", connection=None):
    """Run mxhero.unroute.mta_relay (or ``args["module"]``) with ``args`` through ansible-playbook (connection
    local, the venv's Python as interpreter, the classic module path); return the registered result."""
    args = dict(args)
    module = "mxhero.unroute.%s" % args.pop("module", "mta_relay")
    out = tmp_path / ("%s.json" % name)
    playbook = tmp_path / ("%s.yml" % name)
    playbook.write_text(yaml.safe_dump([{
        "hosts": "mailservers", "gather_facts": False,
        "tasks": [
            {"name": "module", module: args, "register": "r", "ignore_errors": True,
             "environment": env or {}},
            {"name": "keep the result", "ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(out)},
             "check_mode": False, "diff": False, "delegate_to": "localhost"},
        ]}]))
    inventory = tmp_path / "inventory.yml"
    host = connection or {"ansible_connection": "local"}
    host = dict(host, ansible_python_interpreter=sys.executable)
    inventory.write_text(yaml.safe_dump({"mailservers": {"hosts": {"mail1": host}}}))
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
                       ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                       ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          env=environment, cwd=str(tmp_path), timeout=300)
    assert out.exists(), proc.stdout
    result = json.loads(out.read_text())
    result["_stdout"] = proc.stdout
    return result


def actions(result):
    return sorted((f["kind"], f["object"].split(": ", 1)[1], f["action"]) for f in result["findings"])


class SSHServer(object):
    """A private sshd on a free loopback port that admits one key, so a module runs the way it does on a real
    mail server: AnsiballZ copied over SSH and run by the remote Python (here the venv's, on this machine)."""

    def __init__(self, base):
        import socket

        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        for key in ("host_key", "client_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.base / key)], check=True)
        (self.base / "authorized_keys").write_text((self.base / "client_key.pub").read_text())
        (self.base / "authorized_keys").chmod(0o600)
        (self.base / "sshd_config").write_text(textwrap.dedent("""\
            Port {port}
            ListenAddress 127.0.0.1
            HostKey {base}/host_key
            AuthorizedKeysFile {base}/authorized_keys
            PidFile {base}/sshd.pid
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            Subsystem sftp internal-sftp
            """).format(port=self.port, base=self.base))
        # sshd insists on its privilege-separation directory.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(self.base / "sshd_config")],
                                     stdout=subprocess.DEVNULL, stderr=open(str(self.base / "sshd.log"), "w"))
        self._wait()

    def _wait(self):
        import socket
        import time

        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("sshd did not start: %s" % (self.base / "sshd.log").read_text())

    def inventory(self):
        import getpass

        return {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": self.port,
                "ansible_user": getpass.getuser(), "ansible_ssh_private_key_file": str(self.base / "client_key"),
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                # No persistent master connection: nothing of the test may outlive it.
                "ansible_ssh_args": "-o ControlMaster=no -o ControlPersist=no"}

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
