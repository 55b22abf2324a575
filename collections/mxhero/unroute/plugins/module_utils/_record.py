# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run records as evidence: a MAC over their content, a key kept apart, files nobody can swap or lose.

Reports travel through CI artifacts, AWX job artifacts and shared folders, so whoever can write there
must not be able to change what a restore puts back or what a reviewed plan approves. Every record
carries an HMAC-SHA256 over its canonical JSON (sorted keys, no whitespace, the ``mac`` field left
out) under a key that never sits next to the reports: ``unroute_record_key`` (vault, AWX credential)
or a file under the controller user's configuration, created 0600 on first use.
"""

from __future__ import annotations

import datetime
import errno
import hashlib
import hmac
import json
import os
import secrets
import stat

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError

FORMAT = "mxhero-unroute-run/1"
MODES = ("audit", "unroute", "restore", "preflight")
# Most serious first: a domain's status is the most serious thing that happened to it.
STATUSES = ("error", "drifted", "manual", "would_change", "changed", "reported", "skipped", "clean")
# A preflight's statuses (module_utils/_preflight): what a domain needs before its run, most serious first.
PREFLIGHT_STATUSES = ("unreachable", "needs_credentials", "needs_consent", "needs_role", "needs_delegation",
                      "unproven", "ready")
STATUSES = STATUSES[:1] + PREFLIGHT_STATUSES[:-1] + STATUSES[1:-1] + PREFLIGHT_STATUSES[-1:] + STATUSES[-1:]
ALG = "hmac-sha256"
MIN_KEY = 32
KEY_FILE = os.path.join("mxhero-unroute", "record.key")
_KEY_ID_LABEL = b"mxhero-unroute record key id"
UNSIGNED_FIX = ("only if you know this record is the one the run wrote (records from before 0.3.0 carry no MAC), "
                "give -e unroute_trust_unsigned=true")

_RUNS = {"audit": "an audit", "unroute": "a real run", "restore": "a restore", "preflight": "a preflight"}
_PLAYBOOKS = {"audit": "playbooks/audit.yml", "unroute": "playbooks/unroute.yml", "restore": "playbooks/restore.yml",
              "preflight": "playbooks/preflight.yml"}
# What the playbooks read of a domain entry, by what the record is used for.
NEEDS = {
    "plan": ("domain", "plan_digest", "findings", "modules"),
    "restore": ("domain", "findings", "removed", "added"),
    "report": ("domain", "status", "platform", "findings", "removed", "added", "manual_actions", "warnings",
               "errors", "modules"),
}


class RecordKey(object):
    def __init__(self, secret, source):
        self.secret = secret
        self.source = source
        self.key_id = hmac.new(secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def key_path(environ=None):
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, KEY_FILE)


def load_key(given=None, path=None, create=True):
    """The record key: ``given`` (unroute_record_key) or the key file, made on first use when ``create``."""
    if given:
        secret = str(given).strip().encode("utf-8")
        if len(secret) < MIN_KEY:
            # A short key can be guessed from any signed record, offline.
            raise UnrouteError(None, "unroute_record_key", "it is shorter than %d characters" % MIN_KEY,
                               "use a long random string, e.g. the output of openssl rand -hex 32")
        return RecordKey(secret, "unroute_record_key")
    path = path or key_path()
    try:
        return RecordKey(_read_key_file(path), path)
    except OSError as err:
        if err.errno == errno.ENOENT and not create:
            raise UnrouteError(None, "record key %s" % path, "there is none, so no record can be checked here",
                               "give the key the record was signed with as unroute_record_key (a record is signed "
                               "with the key of the controller that wrote it)")
        if err.errno != errno.ENOENT:
            raise UnrouteError(None, "record key %s" % path, "cannot read it: %s" % (err.strerror or err),
                               "fix the file (mode 0600, owned by this user) or give unroute_record_key")
    try:
        _create_key_file(path)
        return RecordKey(_read_key_file(path), path)
    except OSError as err:
        raise UnrouteError(None, "record key %s" % path, "cannot create it: %s" % (err.strerror or err),
                           "make its folder writable for this user, or give unroute_record_key")


def _read_key_file(path):
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnrouteError(None, "record key %s" % path, "it is not a regular file",
                               "remove it; the next run creates a new key")
        if info.st_mode & 0o077:
            # Whoever reads the key can sign any record: refuse rather than trust a key others may know.
            raise UnrouteError(None, "record key %s" % path, "other users may read it (mode %04o)"
                               % stat.S_IMODE(info.st_mode), "chmod 600 it, or make a new key if others did read it")
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise UnrouteError(None, "record key %s" % path, "it belongs to another user (uid %d)" % info.st_uid,
                               "use this user's own key file or give unroute_record_key")
        data = os.read(fd, 4096).strip()
    finally:
        os.close(fd)
    if len(data) < MIN_KEY:
        raise UnrouteError(None, "record key %s" % path, "it is empty or too short",
                           "remove it; the next run creates a new key")
    return data


def _create_key_file(path):
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    tmp = os.path.join(folder, ".record.key.%s" % secrets.token_hex(8))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.write(fd, (secrets.token_hex(32) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # A link never replaces: two first runs at once both end up with the key that got there first.
        os.link(tmp, path)
    except OSError as err:
        if err.errno != errno.EEXIST:
            raise
    finally:
        os.unlink(tmp)


def canonical(record):
    """The bytes the MAC covers: the record without ``mac``, sorted keys, no whitespace."""
    body = dict((k, v) for k, v in record.items() if k != "mac")
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str).encode("utf-8")


def _mac(record, key):
    return hmac.new(key.secret, canonical(record), hashlib.sha256).hexdigest()


def normalise(record):
    """The record as it reads back from its JSON file (what a later run verifies)."""
    return json.loads(json.dumps(record, sort_keys=True, default=str))


def sign(record, key):
    record = normalise(dict((k, v) for k, v in record.items() if k != "mac"))
    record["mac"] = {"alg": ALG, "key_id": key.key_id, "value": _mac(record, key)}
    return record


def verify(record, key, where, trust_unsigned=False):
    """``signed`` when the MAC holds, ``unsigned`` when there is none and that was allowed; else one-line refusal."""
    mac = record.get("mac")
    if mac is None:
        if trust_unsigned:
            return "unsigned"
        raise UnrouteError(None, where, "the run record carries no MAC, so nothing shows it is the one the run "
                           "wrote; nothing was changed", UNSIGNED_FIX)
    if not isinstance(mac, dict) or mac.get("alg") != ALG or not isinstance(mac.get("value"), str):
        raise UnrouteError(None, where, "the run record's MAC is not an %s MAC; nothing was changed" % ALG,
                           "use the record as the run wrote it")
    if mac.get("key_id") != key.key_id:
        raise UnrouteError(None, where, "the run record was signed with record key %s, not with this controller's "
                           "key %s (%s); nothing was changed" % (mac.get("key_id"), key.key_id, key.source),
                           "give the key it was signed with as unroute_record_key (vault or AWX credential)")
    if not hmac.compare_digest(_mac(record, key), mac["value"]):
        raise UnrouteError(None, where, "the run record's MAC does not verify: its content changed after the run "
                           "wrote it; nothing was changed", "use the record as the run wrote it, or run the audit "
                           "again")
    return "signed"


def check_shape(record, where, mode=None, use=None):
    """One line naming the file and what is missing, instead of a templating error deep in a play."""
    if not isinstance(record, dict):
        raise UnrouteError(None, where, "not a run record (a JSON object is expected)", "give the JSON run record")
    if record.get("format") != FORMAT:
        raise UnrouteError(None, where, "not a run record of mxhero.unroute (format %s expected, got %r)"
                           % (FORMAT, record.get("format")), "give the JSON run record or the job's unroute_run "
                           "artifact")
    run = record.get("run")
    if not isinstance(run, dict) or run.get("mode") not in MODES:
        raise UnrouteError(None, where, "the run record has no run.mode (one of %s)" % ", ".join(MODES),
                           "give the run record as the run wrote it")
    if mode and run["mode"] != mode:
        raise UnrouteError(None, where, "this is the run record of %s, not of %s" % (_RUNS[run["mode"]], _RUNS[mode]),
                           "give the record %s wrote (reports/%s-<time>-<id>.json)" % (_PLAYBOOKS[mode], mode))
    domains = record.get("domains")
    if not isinstance(domains, list):
        raise UnrouteError(None, where, "the run record has no 'domains' list", "give the run record as the run "
                           "wrote it")
    if use == "report":
        summary = record.get("summary")
        lacking = [k for k in ("started", "finished", "check_mode") if k not in run]
        if lacking or not isinstance(summary, dict) or not isinstance(summary.get("domains"), int):
            raise UnrouteError(None, where, "the run record has no %s" % ", ".join(
                ["run.%s" % k for k in lacking] + ([] if isinstance(summary, dict) and isinstance(
                    summary.get("domains"), int) else ["summary.domains"])), "give the run record as the run wrote it")
    for index, entry in enumerate(domains):
        if not isinstance(entry, dict):
            raise UnrouteError(None, where, "domains[%d] is not an object" % index, "give the run record as the "
                               "run wrote it")
        missing = [k for k in NEEDS.get(use, ("domain",)) if k not in entry]
        if not isinstance(entry.get("domain"), str) or not entry.get("domain"):
            missing = ["domain"] + [k for k in missing if k != "domain"]
        if missing:
            raise UnrouteError(None, where, "domains[%d]%s has no %s" % (
                index, " (%s)" % entry["domain"] if isinstance(entry.get("domain"), str) else "",
                ", ".join("'%s'" % k for k in missing)), "give the run record as the run wrote it")
        if use == "report" and entry.get("status") not in STATUSES:
            raise UnrouteError(None, where, "domains[%d] (%s): status %r is not one of %s" % (
                index, entry["domain"], entry.get("status"), ", ".join(STATUSES)), "give the run record as the run "
                "wrote it")
        for key in ("findings", "removed", "added", "modules"):
            if key in entry and not isinstance(entry[key], list):
                raise UnrouteError(None, where, "domains[%d] (%s): '%s' is not a list" % (index, entry["domain"], key),
                                   "give the run record as the run wrote it")
    names = [d["domain"] for d in domains]
    twice = sorted(set(n for n in names if names.count(n) > 1))
    if twice:
        raise UnrouteError(None, where, "domain %s is in the run record more than once" % ", ".join(twice),
                           "give the run record as the run wrote it")
    return record


def unwrap(data):
    """A run record, or an AWX job's artifacts holding one under ``unroute_run``."""
    if isinstance(data, dict) and "format" not in data and isinstance(data.get("unroute_run"), dict):
        return data["unroute_run"]
    return data


def read_file(path):
    """The JSON in ``path`` (relative to the current folder), never through a symlink planted in its place."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise UnrouteError(None, path, "it is a symbolic link; run records are read only as plain files",
                               "give the path of the record itself")
        raise UnrouteError(None, path, "cannot read it: %s" % (err.strerror or err),
                           "give the path of the run record, relative to the current folder or absolute")
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise UnrouteError(None, path, "it is not a regular file", "give the path of the run record")
        raw = handle.read()
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise UnrouteError(None, path, "it is not JSON: %s" % err, "give the JSON run record")


def stamp(started=None):
    """``YYYYMMDDTHHMMSSZ`` of ``started`` (ISO 8601) when it parses, else of now: never text from a record."""
    when = None
    if started:
        try:
            when = datetime.datetime.strptime(str(started), "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            when = None
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return when.strftime("%Y%m%dT%H%M%SZ")


def new_run_id():
    return secrets.token_hex(6)


def write_run_files(dest, mode, when, run_id, files):
    """Write ``files`` ((suffix, text) pairs) as ``<mode>-<when>-<run_id><suffix>`` in ``dest``; paths by suffix.

    ``dest`` is created 0700. Each file is written 0600 under a temporary name, then linked to its own name,
    which never replaces anything (a planted file or symlink makes the write fail, not follow it).
    """
    mode = MODES[MODES.index(mode)]
    base = "%s-%s-%s" % (mode, when, run_id)
    os.makedirs(dest, mode=0o700, exist_ok=True)
    dir_fd = os.open(dest, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    written = {}
    try:
        for suffix, text in files:
            name = base + suffix
            tmp = ".%s.%s.tmp" % (name, secrets.token_hex(6))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600,
                         dir_fd=dir_fd)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                _publish(tmp, name, dir_fd)
            finally:
                try:
                    os.unlink(tmp, dir_fd=dir_fd)
                except OSError:
                    pass
            written[suffix] = os.path.join(dest, name)
    finally:
        os.close(dir_fd)
    return written


def _publish(tmp, name, dir_fd):
    try:
        os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
        return
    except OSError as err:
        if err.errno == errno.EEXIST:
            raise
        if err.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV, errno.EMLINK):
            raise
    # A share without hard links: claim the name exclusively, then rename over that claim (rename replaces
    # the name itself, never a symlink's target).
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600, dir_fd=dir_fd)
    os.close(fd)
    os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
