"""Token buckets: capacity defaults, bursts and refill (per-worker buckets, no Redis)."""
from __future__ import annotations

import time

import pytest

from app.qos.tokenbucket import Bucket, LocalBuckets


@pytest.mark.parametrize("amount, every, capacity, rate, expected_capacity", [
    (5, 1.0, None, 5.0, 5),
    (50, 600.0, None, 50 / 600, 1),
    (10, 1.0, 3, 10.0, 3),
    (0.5, 1.0, None, 0.5, 1),
    (120, 60.0, None, 2.0, 2),
], ids=["rate-is-capacity", "slow-rate-capacity-1", "explicit", "fractional", "per-minute"])
def test_bucket_per(amount, every, capacity, rate, expected_capacity):
    bucket = Bucket.per(amount, every, capacity)
    assert bucket.rate == pytest.approx(rate) and bucket.capacity == expected_capacity


@pytest.mark.parametrize("capacity, attempts, admitted", [(1, 3, 1), (5, 8, 5), (10, 10, 10)],
                         ids=["one", "five-of-eight", "exact"])
def test_burst_is_exactly_capacity(capacity, attempts, admitted):
    buckets = LocalBuckets()
    bucket = Bucket(rate=0.001, capacity=capacity)
    assert sum(buckets.take(bucket, "k") for _ in range(attempts)) == admitted


def test_refill_at_the_rate_and_never_above_capacity():
    buckets = LocalBuckets()
    bucket = Bucket(rate=20.0, capacity=2)
    assert [buckets.take(bucket, "k") for _ in range(3)] == [True, True, False]
    time.sleep(0.06)
    assert buckets.take(bucket, "k") is True
    time.sleep(0.5)
    assert sum(buckets.take(bucket, "k") for _ in range(5)) == 2


def test_keys_are_separate_and_old_ones_are_forgotten():
    buckets = LocalBuckets(max_keys=2)
    bucket = Bucket(rate=0.001, capacity=1)
    assert buckets.take(bucket, "a") and buckets.take(bucket, "b")
    assert not buckets.take(bucket, "a")
    assert buckets.take(bucket, "c")       # evicts the least recently used ("b")
    assert buckets.take(bucket, "b")       # a fresh, full bucket again
