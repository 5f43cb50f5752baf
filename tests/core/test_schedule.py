"""The learning-rate schedule: warmup, then decay over the budget."""

from __future__ import annotations

import pytest

from tasklight import system
from tasklight.system import lr_lambda


def test_warmup_then_linear_decay_to_the_last_step():
    factor = lr_lambda("auto", warmup=10, max_steps=110, lr=1e-3, min_lr=0.0)
    assert factor(0) == pytest.approx(0.1)  # the first step already trains
    assert factor(9) == pytest.approx(1.0)
    assert factor(60) == pytest.approx(0.49)  # step 61 of 110: 51 of 100 decay steps done
    assert factor(109) == pytest.approx(0.0, abs=1e-9)


def test_auto_without_budget_is_inverse_sqrt():
    factor = lr_lambda("auto", warmup=100, max_steps=-1, lr=1e-3, min_lr=0.0)
    assert factor(399) == pytest.approx(0.5)


def test_min_lr_is_a_floor():
    factor = lr_lambda("linear", warmup=0, max_steps=100, lr=1e-3, min_lr=1e-4)
    assert factor(99) == pytest.approx(0.1)


def test_time_budget_decays_over_wall_time(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(system.time, "monotonic", lambda: now[0])
    factor = lr_lambda("auto", warmup=0, max_steps=-1, lr=1e-3, min_lr=0.0, budget_seconds=100.0)
    assert factor(0) == pytest.approx(1.0)
    now[0] += 25
    assert factor(5) == pytest.approx(0.75)
    now[0] += 100
    assert factor(6) == pytest.approx(0.0)
