"""Re-selection over seeds and the refit on train+val (search/_reselect.py), and how they share --time-limit."""

import time

import pytest
import torch
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from kwsauto.features import FeatureConfig
from kwsauto.models import ModelSpec
from kwsauto.search import SearchSettings
from kwsauto.search._reselect import Candidate, Reselection, merged_train_val, refit, reselect
from kwsauto.search._study import SELECTION_RESERVE_FRACTION, _export_deadline, _trials_deadline
from kwsauto.training import TrainConfig, TrialConfig
from tests.conftest import TONE_FEATURES_CONFIG

CONFIG = TrialConfig(
    features=FeatureConfig(**TONE_FEATURES_CONFIG),
    model=ModelSpec(arch="dscnn", width=0.25),
    train=TrainConfig(epochs=2, batch_size=16, early_stopping_patience=0),
)


def _trial(number, score, seconds=1.0):
    return create_trial(params={"x": float(number)}, distributions={"x": FloatDistribution(0, 100)}, value=score,
                        user_attrs={"config": CONFIG.to_dict(), "seconds": seconds, "best_epoch": 1, "feasible": True})


def test_the_estimate_leaves_out_the_search_run_and_the_choice_is_by_mean():
    lucky = Candidate(0, (0.95, 0.80, 0.82), 10)  # best by its search run, worse on new seeds
    steady = Candidate(1, (0.90, 0.88, 0.90), 12)
    result = Reselection((lucky, steady), seconds=1.0)
    assert result.chosen is steady
    mean, spread, runs = result.estimate
    assert mean == pytest.approx(0.89) and spread == pytest.approx(torch.tensor([0.88, 0.90]).std().item())
    assert runs == 2


def test_reselect_retrains_with_new_seeds_and_skips_what_does_not_fit(tone_features):
    trials = [_trial(0, 0.9), _trial(1, 0.8)]
    result = reselect(trials, lambda config: tone_features, extra_seeds=1)
    assert [len(c.scores) for c in result.candidates] == [2, 2] and result.skipped == 0
    assert [c.scores[0] for c in result.candidates] == [0.9, 0.8]  # the search run first
    assert all(0.0 <= s <= 1.0 for c in result.candidates for s in c.scores[1:])
    assert [c.epochs for c in result.candidates] == [2, 2]  # best epoch 1: a refit trains two epochs
    # a deadline that has passed trains nothing: each candidate keeps its search score, the skips are counted
    late = reselect(trials, lambda config: pytest.fail("nothing may train"), extra_seeds=2, deadline=time.monotonic())
    assert [c.scores for c in late.candidates] == [(0.9,), (0.8,)] and late.skipped == 4
    assert late.chosen is late.candidates[0]  # the better search score wins when nothing was retrained


def test_refit_trains_on_train_and_validation(tone_features):
    merged = merged_train_val(tone_features)
    n_train, n_val = len(tone_features["train"].labels), len(tone_features["val"].labels)
    assert len(merged["train"].labels) == n_train + n_val
    assert torch.equal(merged["train"].features[n_train:], tone_features["val"].features)
    assert torch.equal(merged["test"].features, tone_features["test"].features)  # the test split stays out
    model = refit(CONFIG, tone_features, epochs=1)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_the_time_limit_keeps_room_for_reselection_and_export():
    limit, started = 1000.0, 0.0
    export = _export_deadline(SearchSettings(time_limit_s=limit), started)
    assert export == limit - 100  # a tenth for the export
    assert _trials_deadline(SearchSettings(time_limit_s=limit), started) == export - SELECTION_RESERVE_FRACTION * limit
    plain = SearchSettings(time_limit_s=limit, reselect=0, refit=False)
    assert _trials_deadline(plain, started) == export  # nothing to re-select: trials run until the export
    assert _trials_deadline(SearchSettings(time_limit_s=limit, objective="pareto"), started) == export
