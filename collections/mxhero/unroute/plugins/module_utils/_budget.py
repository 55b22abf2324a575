# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Request budgets: one token bucket per account a call spends (provider + credential identity), shared by the
engine's threads, by the forks of the per-host path and by concurrent runs on one controller.

A vendor limits an account, not a process: ten forks that each retry on their own overrun a Cloudflare token's
1,200 requests per 5 minutes and get the whole token blocked. So every API call first takes a token from the
account's bucket (``Budget.acquire``), and a throttling answer that still comes drains the bucket and blocks the
whole account until the vendor's Retry-After (``Budget.penalise``), for every process on the controller.

The bucket lives in a small state file per account under a runtime folder (``$UNROUTE_BUDGET_DIR``, else
``$XDG_RUNTIME_DIR/mxhero-unroute/budgets``, else ``~/.cache/mxhero-unroute/budgets``), named after the SHA-256
of the account key and changed only under ``fcntl.flock``; the key's secret part (a Cloudflare token) is hashed,
never written or shown. Where no such folder can be written the bucket is this process's alone.

Defaults are the vendors' documented limits (docs/dns.md, "Budgets"); ``unroute_budgets`` overrides them per
provider or per account, and ``unroute_job_slices`` gives each of N AWX job slices 1/N of every budget.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time

try:
    import fcntl
    HAS_FCNTL = True
except ImportError:  # pragma: no cover - not POSIX: the bucket is per process
    HAS_FCNTL = False

# What each vendor documents (docs/dns.md "Budgets" cites the pages). ``rate`` requests per ``per`` seconds,
# ``burst`` the most taken at once; ``writes`` a separate bucket for writes where the vendor counts them apart;
# ``block`` how long the vendor blocks the account once it is exceeded and sends no Retry-After.
DEFAULTS = {
    # 1,200 per 5 minutes per token, then every call blocked for 5 minutes. Cloudflare does not say whether the
    # window slides, so the rate and burst keep any 5-minute window at or under 1,200 (rate*per + burst).
    "cloudflare": dict(rate=1080, per=300.0, burst=120, block=300.0),
    # Route 53: a token bucket per account; the knowledge-center figure (5 requests/s) is the floor of the
    # current table (10/s, bucket of 50), so the floor it is.
    "route53": dict(rate=5, per=1.0, burst=5, block=1.0),
    # Azure Resource Manager: per subscription and principal, reads 25/s (bucket 250), writes 10/s (bucket 200).
    "azure": dict(rate=25, per=1.0, burst=250, block=1.0, writes=dict(rate=10, per=1.0, burst=200)),
    # Cloud DNS: per project; the console shows the project's quota (read requests per minute).
    "google_cloud_dns": dict(rate=600, per=60.0, burst=60, block=1.0),
    # Exchange Online admin API: per tenant (no public figure; the Graph mailbox limit is 10,000 per 10 minutes).
    "exo": dict(rate=10000, per=600.0, burst=100, block=1.0),
    # Google Workspace Admin SDK: per customer and Cloud project (2,400 queries per minute per project).
    "google": dict(rate=2400, per=60.0, burst=100, block=1.0),
}

_LOCAL = threading.Lock()
_MEMORY = {}       # path or key -> state, where no state file can be kept
_CONFIG = {}       # what the action plugin set for the running task: overrides, slices


def configure(overrides=None, slices=None):
    """Set the task's ``unroute_budgets`` and ``unroute_job_slices`` (the in-process action plugin does, from
    the task's variables); returns what was set before, for ``configure(**previous)`` afterwards."""
    previous = dict(overrides=_CONFIG.get("overrides"), slices=_CONFIG.get("slices"))
    _CONFIG["overrides"] = overrides
    _CONFIG["slices"] = slices
    return previous


def _overrides():
    if _CONFIG.get("overrides") is not None:
        return _CONFIG["overrides"]
    text = os.environ.get("UNROUTE_BUDGETS")
    if text:
        try:
            value = json.loads(text)
            return value if isinstance(value, dict) else {}
        except ValueError:
            return {}
    return {}


def _slices():
    value = _CONFIG.get("slices")
    if value is None:
        value = os.environ.get("UNROUTE_JOB_SLICES")
    try:
        return max(1, int(value or 1))
    except (TypeError, ValueError):
        return 1


def label_of(secret):
    """How an account whose only identity is a secret (a Cloudflare token) is named in ``unroute_budgets``:
    the first 12 hex digits of the secret's SHA-256 (``printf %s "$TOKEN" | sha256sum | cut -c1-12``)."""
    return hashlib.sha256(str(secret).encode("utf-8")).hexdigest()[:12]


def settings_for(kind, label=None, overrides=None, slices=None):
    """The budget of one account: the vendor default, then ``overrides[kind]``, then ``overrides[kind:label]``;
    divided by the number of job slices."""
    overrides = _overrides() if overrides is None else overrides
    merged = dict(DEFAULTS.get(kind) or dict(rate=10, per=1.0, burst=10, block=1.0))
    for key in (kind, "%s:%s" % (kind, label) if label else None):
        value = overrides.get(key) if key else None
        if isinstance(value, dict):
            if "rate" in value and "burst" not in value:
                # A rate given alone is the vendor's limit: the bucket may hold that many.
                merged["burst"] = value["rate"]
            merged.update(value)
    slices = _slices() if slices is None else max(1, int(slices))
    merged["rate"] = float(merged["rate"]) / slices
    merged["burst"] = max(1.0, float(merged.get("burst") or merged["rate"]) / slices)
    if isinstance(merged.get("writes"), dict):
        writes = dict(merged["writes"])
        writes["rate"] = float(writes["rate"]) / slices
        writes["burst"] = max(1.0, float(writes.get("burst") or writes["rate"]) / slices)
        merged["writes"] = writes
    return merged


def state_dir():
    """The runtime folder of the state files (created 0700), or None when none can be written."""
    candidates = [os.environ.get("UNROUTE_BUDGET_DIR")]
    if os.environ.get("XDG_RUNTIME_DIR"):
        candidates.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "mxhero-unroute", "budgets"))
    candidates.append(os.path.join(os.path.expanduser("~"), ".cache", "mxhero-unroute", "budgets"))
    for path in candidates:
        if not path:
            continue
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
            if os.access(path, os.W_OK):
                return path
        except OSError:
            continue
    return None


class Budget(object):
    """One account's bucket. ``acquire`` waits until a request may be sent; ``penalise`` takes the vendor's
    throttling answer for the whole account."""

    def __init__(self, key, rate, per=1.0, burst=None, block=1.0, writes=None, directory=None,
                 clock=time.time, sleep=time.sleep):
        self.digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        self.rate = float(rate) / float(per)          # tokens per second
        self.burst = float(burst or rate)
        self.block = float(block or 0)
        self.writes = None
        if writes:
            self.writes = (float(writes["rate"]) / float(writes.get("per") or 1.0),
                           float(writes.get("burst") or writes["rate"]))
        self.path = os.path.join(directory, self.digest + ".json") if directory else None
        self.clock = clock
        self.sleep = sleep
        self.waited = 0.0
        self.penalties = 0

    # -- the state, under both locks -------------------------------------------------
    def _update(self, change):
        """Run ``change(state, now)`` on the account's state under the thread lock and the file lock; it returns
        the pause to take before trying again (0: done)."""
        with _LOCAL:
            if self.path is None:
                state = _MEMORY.setdefault(self.digest, {})
                return change(state, self.clock())
            try:
                handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                state = _MEMORY.setdefault(self.digest, {})
                return change(state, self.clock())
            try:
                if HAS_FCNTL:
                    fcntl.flock(handle, fcntl.LOCK_EX)
                raw = b""
                while True:
                    chunk = os.read(handle, 65536)
                    if not chunk:
                        break
                    raw += chunk
                try:
                    state = json.loads(raw.decode("utf-8")) if raw else {}
                except ValueError:
                    state = {}
                pause = change(state, self.clock())
                data = json.dumps(state).encode("utf-8")
                os.lseek(handle, 0, os.SEEK_SET)
                os.ftruncate(handle, 0)
                os.write(handle, data)
                return pause
            finally:
                os.close(handle)  # closing the descriptor releases the flock

    def _refill(self, state, now, name, rate, burst):
        level = state.get(name + "_level")
        at = state.get(name + "_at")
        if level is None or at is None:
            level, at = burst, now
        level = min(burst, float(level) + max(0.0, now - float(at)) * rate)
        state[name + "_level"], state[name + "_at"] = level, now
        return level

    def acquire(self, cost=1, write=False):
        """Wait until ``cost`` requests may go to the account; return the seconds waited."""
        cost = float(cost)

        def take(state, now):
            blocked = float(state.get("blocked_until") or 0)
            if now < blocked:
                return max(blocked - now, 0.001)
            buckets = [("all", self.rate, self.burst)]
            if write and self.writes:
                buckets = [("writes",) + self.writes]
            pause = 0.0
            for name, rate, burst in buckets:
                level = self._refill(state, now, name, rate, burst)
                if level + 1e-9 < min(cost, burst):
                    # Never less than a millisecond: a pause lost in the clock's rounding would spin.
                    pause = max(pause, (min(cost, burst) - level) / rate, 0.001)
            if pause:
                return pause
            for name, _rate, burst in buckets:
                state[name + "_level"] = max(0.0, state[name + "_level"] - min(cost, burst))
            # What the account has spent from this controller and been refused: the figures an operator reads.
            state["spent"] = state.get("spent", 0) + cost
            return 0.0

        waited = 0.0
        while True:
            pause = self._update(take)
            if not pause:
                self.waited += waited
                return waited
            # Small steps, so a penalty another process records is seen, and a freed bucket is not missed long.
            pause = min(pause, 1.0)
            self.sleep(pause)
            waited += pause

    def penalise(self, retry_after=None):
        """The vendor answered "too many requests": empty the bucket and block the whole account for the
        vendor's Retry-After (or its documented block), in every process that spends it."""
        self.penalties += 1
        hold = float(retry_after) if retry_after is not None else self.block

        def block(state, now):
            state["blocked_until"] = max(float(state.get("blocked_until") or 0), now + hold)
            state["throttled"] = state.get("throttled", 0) + 1
            for name in ("all", "writes") if self.writes else ("all",):
                state[name + "_level"] = min(0.0, float(state.get(name + "_level") or 0.0))
                state[name + "_at"] = now + hold
            return 0.0
        self._update(block)


_REGISTRY = {}


def budget_for(kind, identity, overrides=None, label=None, slices=None, directory=None):
    """The Budget of account ``identity`` (a credential: hashed, never kept in clear) of provider ``kind``;
    ``label`` is the account's name in ``unroute_budgets`` (a key id, a subscription, a project, a tenant),
    defaulting to the hash of ``identity``. One object per account and settings in a process."""
    label = label or label_of(identity)
    settings = settings_for(kind, label, overrides, slices)
    key = "%s\0%s" % (kind, identity)
    directory = state_dir() if directory is None else directory
    cache_key = (hashlib.sha256(key.encode("utf-8")).hexdigest(), json.dumps(settings, sort_keys=True), directory)
    with _LOCAL:
        budget = _REGISTRY.get(cache_key)
        if budget is None:
            budget = Budget(key, settings["rate"], settings.get("per") or 1.0, settings["burst"],
                            settings.get("block"), settings.get("writes"), directory)
            _REGISTRY[cache_key] = budget
    return budget
