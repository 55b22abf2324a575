"""Request budgets (module_utils/_budget.py): one bucket per account, shared by threads and processes, and a
throttling answer that slows the whole account."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time

import pytest

from ansible_collections.mxhero.unroute.plugins.module_utils import _budget
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import DnsProvider, Unreachable
from ansible_collections.mxhero.unroute.plugins.module_utils._retry import RetryPolicy, TransientError


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_spends_its_burst_then_the_rate(tmp_path):
    clock = Clock()
    budget = _budget.Budget("cloudflare\0tok", rate=10, per=5.0, burst=4, directory=str(tmp_path),
                            clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(4):
        assert budget.acquire() == 0
    for _ in range(6):
        budget.acquire()
    # 4 at once, then 6 at 2 per second.
    assert clock.now - start == pytest.approx(3.0, abs=1e-6)


def test_secret_is_neither_in_the_file_name_nor_in_the_state(tmp_path):
    budget = _budget.budget_for("cloudflare", "https://api sekrit-token-value", directory=str(tmp_path))
    budget.acquire()
    names = os.listdir(tmp_path)
    assert len(names) == 1 and "sekrit" not in names[0]
    assert "sekrit" not in (tmp_path / names[0]).read_text()


def test_a_throttling_answer_blocks_the_account_for_every_holder(tmp_path):
    clock = Clock()
    one = _budget.Budget("route53\0key", rate=5, per=1.0, burst=5, directory=str(tmp_path), clock=clock,
                         sleep=clock.sleep)
    # Another process spending the same account: its own object, the same state file.
    other = _budget.Budget("route53\0key", rate=5, per=1.0, burst=5, directory=str(tmp_path), clock=clock,
                           sleep=clock.sleep)
    start = clock.now
    one.penalise(retry_after=7)
    other.acquire()
    assert clock.now - start >= 7.0
    # The bucket was emptied too: the next request waits for a token, not only for the block to end.
    assert other.acquire() > 0


def test_cloudflare_without_retry_after_blocks_for_its_documented_five_minutes(tmp_path):
    clock = Clock()
    budget = _budget.budget_for("cloudflare", "x token", directory=str(tmp_path))
    budget.clock, budget.sleep = clock, clock.sleep
    start = clock.now
    budget.penalise()
    budget.acquire()
    assert clock.now - start >= 300.0


def test_overrides_by_provider_and_by_account_and_job_slices():
    base = _budget.settings_for("cloudflare", "abc", overrides={}, slices=1)
    assert (base["rate"], base["per"]) == (1080, 300.0)
    per_kind = _budget.settings_for("cloudflare", "abc", overrides={"cloudflare": {"rate": 60, "per": 15}}, slices=1)
    assert (per_kind["rate"], per_kind["per"], per_kind["burst"]) == (60, 15, 60)
    per_account = _budget.settings_for("cloudflare", "abc", overrides={
        "cloudflare": {"rate": 60, "per": 15}, "cloudflare:abc": {"rate": 30}}, slices=1)
    assert per_account["rate"] == 30 and per_account["per"] == 15
    sliced = _budget.settings_for("azure", "sub", overrides={}, slices=4)
    assert sliced["rate"] == 25 / 4.0 and sliced["writes"]["rate"] == 10 / 4.0


def test_configure_from_the_play_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("UNROUTE_BUDGETS", json.dumps({"route53": {"rate": 2}}))
    assert _budget.settings_for("route53", "k")["rate"] == 2
    previous = _budget.configure({"route53": {"rate": 3}}, 1)
    try:
        assert _budget.settings_for("route53", "k")["rate"] == 3
    finally:
        _budget.configure(**previous)


def test_writes_spend_their_own_bucket_where_the_vendor_counts_them_apart(tmp_path):
    clock = Clock()
    budget = _budget.Budget("azure\0s", rate=25, per=1.0, burst=2, writes=dict(rate=1, per=1.0, burst=1),
                            directory=str(tmp_path), clock=clock, sleep=clock.sleep)
    budget.acquire(write=True)
    start = clock.now
    budget.acquire()
    budget.acquire()
    assert clock.now == start            # reads are not held up by the writes' bucket
    budget.acquire(write=True)
    assert clock.now - start == pytest.approx(1.0)


def test_threads_share_one_bucket(tmp_path):
    budget = _budget.Budget("k\0threads", rate=40, per=1.0, burst=2, directory=str(tmp_path))
    times = []

    def work():
        for _ in range(5):
            budget.acquire()
            times.append(time.monotonic())
    start = time.monotonic()
    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 20 requests, 2 at once then 40/s: at least 18/40 s.
    assert max(times) - start >= 18 / 40.0 - 0.02


def _hammer(directory, out, count):
    budget = _budget.Budget("shared\0account", rate=20, per=1.0, burst=3, directory=directory)
    stamps = []
    for _ in range(count):
        budget.acquire()
        stamps.append(time.time())
    out.put(stamps)


def test_two_processes_hammering_one_account_never_exceed_the_rate(tmp_path):
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    procs = [context.Process(target=_hammer, args=(str(tmp_path), out, 15)) for _ in range(2)]
    for proc in procs:
        proc.start()
    stamps = sorted(out.get(timeout=30) + out.get(timeout=30))
    for proc in procs:
        proc.join(10)
    assert len(stamps) == 30
    # A token bucket of 3 at 20/s allows at most 3 + 20*w requests in any window of w seconds.
    for i, first in enumerate(stamps):
        for j in range(i, len(stamps)):
            window = stamps[j] - first
            assert j - i + 1 <= 3 + 20 * window + 1, (j - i + 1, window)
    assert stamps[-1] - stamps[0] >= (30 - 3) / 20.0 - 0.05


class _Fake(DnsProvider):
    zone_text = "example.com"

    def __init__(self, budget):
        self.budget = budget
        self.calls = 0


def test_the_seam_spends_the_budget_and_a_throttled_answer_penalises_the_account(tmp_path):
    clock = Clock()
    budget = _budget.Budget("fake\0acct", rate=100, per=1.0, burst=100, block=1.0, directory=str(tmp_path),
                            clock=clock, sleep=clock.sleep)
    provider = _Fake(budget)
    answers = [TransientError("HTTP 429", retry_after=5, throttled=True), "ok"]

    def call():
        provider.calls += 1
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    policy = RetryPolicy(attempts=3, sleep=clock.sleep)
    start = clock.now
    assert provider.attempt(call, "MX", policy=policy) == "ok"
    assert budget.penalties == 1 and provider.calls == 2
    assert clock.now - start >= 5.0


def test_the_seam_penalises_what_classify_calls_throttling(tmp_path):
    clock = Clock()
    budget = _budget.Budget("fake\0acct2", rate=100, per=1.0, burst=100, directory=str(tmp_path), clock=clock,
                            sleep=clock.sleep)

    class Throttled(_Fake):
        def classify(self, err, what, write):
            return TransientError("Throttling", throttled=True)

    provider = Throttled(budget)

    def call():
        raise RuntimeError("Rate exceeded")
    with pytest.raises(Unreachable):
        provider.attempt(call, "MX", policy=RetryPolicy(attempts=2, sleep=clock.sleep))
    assert budget.penalties == 2


@pytest.mark.parametrize("reason", ["rateLimitExceeded", "userRateLimitExceeded"])
def test_cloud_dns_403_rate_limit_is_throttling_not_access_denied(reason):
    import httplib2
    from googleapiclient.errors import HttpError
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns.google_cloud_dns import CloudDnsProvider
    assert CloudDnsProvider.available()  # its libraries load on first use
    provider = CloudDnsProvider.__new__(CloudDnsProvider)
    provider.zone_text, provider.project = "example.com", "proj"
    content = json.dumps({"error": {"code": 403, "message": "Rate Limit Exceeded",
                                    "errors": [{"reason": reason, "domain": "usageLimits"}]}}).encode()
    verdict = provider.classify(HttpError(httplib2.Response({"status": 403}), content), "MX", False)
    assert isinstance(verdict, TransientError) and verdict.throttled


def test_exchange_online_429_penalises_the_tenant(tmp_path, monkeypatch):
    monkeypatch.setenv("UNROUTE_BUDGET_DIR", str(tmp_path))
    from ansible_collections.mxhero.unroute.plugins.module_utils._exo.client import ExoClient

    class Resp:
        status_code = 429
        text = '{"error": {"code": "TooManyRequests", "message": "Rate limit exceeded."}}'
        headers = {"Retry-After": "2"}

        def json(self):
            return json.loads(self.text)
    client = ExoClient.__new__(ExoClient)
    client.api_endpoint, client.tenant_id, client.budget, client._secrets = "https://outlook", "t1", None, []
    with pytest.raises(TransientError) as caught:
        client._read(Resp(), {"CmdletInput": {"CmdletName": "Get-InboundConnector"}}, False)
    assert caught.value.throttled and client.spending().penalties == 1
