"""The family pruner: a trial is measured against the finished trials of its own architecture and start."""

import optuna
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from kwsauto.search._pruning import FamilyMedianPruner, family_of

_DISTRIBUTIONS = {
    "model.arch": CategoricalDistribution(["dscnn", "mobilenetv1"]),
    "model.pretrained": CategoricalDistribution([True, False]),
    "train.freeze_epochs": IntDistribution(0, 5),
}


def _trial(arch, pretrained, curve, state=TrialState.COMPLETE, freeze=0):
    return create_trial(
        params={"model.arch": arch, "model.pretrained": pretrained, "train.freeze_epochs": freeze},
        distributions=_DISTRIBUTIONS,
        intermediate_values=dict(enumerate(curve)),
        value=curve[-1] if state == TrialState.COMPLETE else None,
        state=state,
    )


def _study_of_fast_dscnns():
    study = optuna.create_study(direction="maximize")
    for _ in range(3):  # three DS-CNNs from scratch that learn fast
        study.add_trial(_trial("dscnn", False, [0.6, 0.8, 0.85, 0.9, 0.9, 0.92, 0.93]))
    return study


def test_a_slow_family_is_not_measured_against_a_fast_one():
    study, pruner = _study_of_fast_dscnns(), FamilyMedianPruner(n_startup_trials=3, n_warmup_steps=3)
    slow = [0.3, 0.4, 0.5, 0.55, 0.6]
    # the same curve is pruned among DS-CNNs, but a MobileNet has no finished trials of its own family yet
    assert pruner.prune(study, _trial("dscnn", False, slow, TrialState.RUNNING))
    assert not pruner.prune(study, _trial("mobilenetv1", False, slow, TrialState.RUNNING))
    assert optuna.pruners.MedianPruner(3, 3).prune(study, _trial("mobilenetv1", False, slow, TrialState.RUNNING))
    # once its family has three finished trials, a MobileNet below their median is pruned, one above is not
    for _ in range(3):
        study.add_trial(_trial("mobilenetv1", False, [0.3, 0.45, 0.55, 0.6, 0.65, 0.7]))
    assert pruner.prune(study, _trial("mobilenetv1", False, [0.2, 0.3, 0.35, 0.4, 0.45], TrialState.RUNNING))
    assert not pruner.prune(study, _trial("mobilenetv1", False, slow[:4] + [0.7], TrialState.RUNNING))


def test_fine_tuned_trials_get_their_frozen_epochs_as_warm_up():
    study, pruner = optuna.create_study(direction="maximize"), FamilyMedianPruner(n_startup_trials=3, n_warmup_steps=3)
    for _ in range(3):
        study.add_trial(_trial("mobilenetv1", True, [0.5, 0.7, 0.8, 0.85, 0.9, 0.9, 0.92, 0.93, 0.94], freeze=0))
    low = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45]  # epoch 5: below the family's 0.9
    assert pruner.prune(study, _trial("mobilenetv1", True, low, TrialState.RUNNING, freeze=0))
    assert not pruner.prune(study, _trial("mobilenetv1", True, low, TrialState.RUNNING, freeze=5))  # still warming up
    assert pruner.prune(study, _trial("mobilenetv1", True, low + [0.5, 0.55, 0.6], TrialState.RUNNING, freeze=5))


def test_family_of_reads_enqueued_configs_too():
    trial = create_trial(params={}, distributions={}, value=0.5,
                         user_attrs={"config": {"model": {"arch": "dscnn", "pretrained": False}}})
    assert family_of(trial) == ("dscnn", False)
