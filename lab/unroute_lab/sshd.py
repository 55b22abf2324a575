"""A private sshd (Debian's openssh-server) on a free loopback port that admits one generated key.

Modules reach the lab's mail servers through it the way they reach a customer's: AnsiballZ copied over
SSH and run by the remote Python (here the lab's own, on this machine).
"""

from __future__ import annotations

import getpass
import subprocess
import textwrap
from pathlib import Path

from .ports import free_port, wait_listening
from .services.base import LabService

SSHD = "/usr/sbin/sshd"


class SSHServer(object):
    def __init__(self, base, detached=False):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        for key in ("host_key", "client_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "unroute-lab", "-f",
                            str(self.base / key)], check=True)
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
        # Detached (the lab): its own session, so it outlives 'unroute-lab up' and 'down' stops its group.
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.base / "sshd_config")],
                                     stdout=subprocess.DEVNULL, stderr=open(str(self.base / "sshd.log"), "w"),
                                     stdin=subprocess.DEVNULL, start_new_session=detached)
        self._wait()

    @property
    def pid(self):
        return self.proc.pid

    def _wait(self):
        if wait_listening(self.proc, self.port):
            return
        raise RuntimeError("sshd did not start on 127.0.0.1:%d; see %s" % (self.port, self.base / "sshd.log"))

    def inventory(self):
        return {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": self.port,
                "ansible_user": getpass.getuser(), "ansible_ssh_private_key_file": str(self.base / "client_key"),
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                # No persistent master connection: nothing of a run may outlive the lab's sshd.
                "ansible_ssh_args": "-o ControlMaster=no -o ControlPersist=no"}

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class SshdService(LabService):
    """The sshd through which the modules reach the lab's mail servers; its port and inventory variables
    complete the ``mta`` entry of lab.json."""

    name = "sshd"
    section = "mta"
    process = True

    def start(self):
        ssh = SSHServer(self.ctx.dir / "mta" / "sshd", detached=True)
        self.ctx.pids["sshd"] = ssh.pid
        return {"port": ssh.port, "ssh": ssh.inventory()}

    def publish(self, services, entry):
        services["mta"].update(entry)
