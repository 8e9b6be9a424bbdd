"""Learning-rate schedules and smoothed early stopping."""

import math

import pytest
import torch

from kwsauto.training._early_stopping import SmoothedEarlyStopping
from kwsauto.training._schedule import StepSchedule, schedule_factor


def test_onecycle_matches_pytorch() -> None:
    """kwsauto's one-cycle factor follows torch's OneCycleLR (cosine annealing, div 25, final div 1e4)."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    reference = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=101, pct_start=0.3)
    for step in range(101):
        expected = optimizer.param_groups[0]["lr"]
        assert schedule_factor("onecycle", step, 101, 0.3) == pytest.approx(expected, rel=0.03, abs=1e-6), step
        optimizer.step()
        reference.step()


def test_cosine_warms_up_linearly_then_decays_to_zero() -> None:
    factors = [schedule_factor("cosine", s, 100, 0.1) for s in range(100)]
    assert factors[:10] == pytest.approx([(s + 1) / 10 for s in range(10)])
    assert max(factors) == 1.0
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))
    assert schedule_factor("cosine", 100, 100, 0.1) == pytest.approx(0.0, abs=1e-9)
    assert schedule_factor("constant", 57, 100, 0.1) == 1.0


def test_a_group_joining_mid_training_follows_the_schedule() -> None:
    head, body = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([head], lr=0.1)
    schedule = StepSchedule(optimizer, "cosine", total_steps=20, warmup_fraction=0.25)
    for _ in range(10):
        optimizer.step()
        schedule.step()
    # the backbone joins at a tenth of the head's current rate (what BackboneFreeze does)
    optimizer.add_param_group({"params": [body], "lr": optimizer.param_groups[0]["lr"] * 0.1})
    for _ in range(5):
        optimizer.step()
        schedule.step()
    head_lr, body_lr = (g["lr"] for g in optimizer.param_groups)
    assert body_lr == pytest.approx(head_lr * 0.1)
    assert head_lr == pytest.approx(0.1 * schedule_factor("cosine", 15, 20, 0.25))


class _Trainer:
    def __init__(self) -> None:
        self.sanity_checking = False
        self.should_stop = False
        self.current_epoch = 0
        self.callback_metrics: dict[str, torch.Tensor] = {}


def _run(stopper: SmoothedEarlyStopping, losses: list[float]) -> int | None:
    trainer = _Trainer()
    for epoch, loss in enumerate(losses):
        trainer.current_epoch = epoch
        trainer.callback_metrics = {"val_loss": torch.tensor(loss)}
        stopper.on_validation_end(trainer, None)
        if trainer.should_stop:
            return epoch
    return None


def test_early_stopping_ignores_a_wobble_and_stops_a_plateau() -> None:
    # a falling loss with one bad epoch: the smoothed loss keeps improving, training goes on
    wobble = [1.0, 0.8, 0.65, 0.9, 0.5, 0.45, 0.4, 0.36, 0.33, 0.3]
    assert _run(SmoothedEarlyStopping(patience=2), wobble) is None
    # a loss that stopped falling at epoch 3: stopped within patience + smoothing lag
    plateau = [1.0, 0.6, 0.4, 0.3] + [0.3 + 0.02 * (i % 2) for i in range(12)]
    stopped = _run(SmoothedEarlyStopping(patience=3), plateau)
    assert stopped is not None and 6 <= stopped <= 11


def test_early_stopping_waits_for_the_minimum_epochs() -> None:
    flat = [0.5] * 20
    assert _run(SmoothedEarlyStopping(patience=2, min_epochs=15), flat) == 14
    assert _run(SmoothedEarlyStopping(patience=2, min_epochs=1), flat) == 2
    assert math.isinf(SmoothedEarlyStopping(patience=1).best)
