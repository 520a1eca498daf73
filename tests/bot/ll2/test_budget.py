"""Tests of the rolling-hour request budget."""

from __future__ import annotations

import pytest

from bot.ll2.client import RequestBudget


class FakeClock:
    """A clock that moves only when the test moves it."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_budget_allows_limit_then_refuses() -> None:
    budget = RequestBudget(3, clock=FakeClock())

    results = [budget.try_spend() for _ in range(4)]

    assert results == [True, True, True, False]
    assert budget.spent_last_hour() == 3


def test_budget_frees_oldest_after_an_hour() -> None:
    clock = FakeClock()
    budget = RequestBudget(2, clock=clock)
    budget.try_spend()
    clock.now += 600
    budget.try_spend()

    clock.now += 2999
    assert budget.try_spend() is False
    assert budget.seconds_until_available() == pytest.approx(1.0)

    clock.now += 1
    assert budget.seconds_until_available() == 0.0
    assert budget.try_spend() is True
    assert budget.try_spend() is False
    assert budget.seconds_until_available() == pytest.approx(600.0)


def test_budget_counts_times_saved_earlier() -> None:
    clock = FakeClock()
    earlier = [clock.now - 4000, clock.now - 1800, clock.now - 60]

    budget = RequestBudget(3, clock=clock, spent=earlier)

    assert budget.spent_last_hour() == 2
    assert budget.spent_times() == (clock.now - 1800, clock.now - 60)
    assert budget.try_spend() is True
    assert budget.try_spend() is False
    assert budget.seconds_until_available() == pytest.approx(1800.0)


def test_budget_treats_future_times_as_now() -> None:
    clock = FakeClock()

    budget = RequestBudget(1, clock=clock, spent=[clock.now + 86_400])

    assert budget.spent_last_hour() == 1
    assert budget.seconds_until_available() == pytest.approx(3600.0)


def test_budget_rejects_zero_requests_per_hour() -> None:
    with pytest.raises(ValueError, match="requests_per_hour"):
        RequestBudget(0)
