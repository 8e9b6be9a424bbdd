"""Search: spaces, the budget-checked objective, the Optuna study, the run folder, its typed records, and
:class:`Run`, through which every reader opens a run."""

from kwsauto.search._feasibility import check_trial, ensure_space_can_fit, footprint_of
from kwsauto.search._leaderboard import (
    SORT_KEYS,
    best_feasible,
    leaderboard_rows,
    sort_rows,
    trained_trials,
    trial_row,
    with_test_accuracy,
)
from kwsauto.search._objective import Objective, TrialListener
from kwsauto.search._records import CARD_SCHEMA, ModelCard, RunSettings, TrialRecord
from kwsauto.search._run import Run
from kwsauto.search._run_folder import LEADERBOARD_COLUMNS, RunFolder
from kwsauto.search._space import Param, SearchSpace, builtin_seeds, builtin_spaces, load_space, parse_space
from kwsauto.search._study import (
    OBJECTIVES,
    PRUNERS,
    SAMPLERS,
    SearchResult,
    SearchSettings,
    open_study,
    run_search,
)

__all__ = [
    "CARD_SCHEMA",
    "LEADERBOARD_COLUMNS",
    "OBJECTIVES",
    "PRUNERS",
    "SAMPLERS",
    "SORT_KEYS",
    "ModelCard",
    "Objective",
    "Param",
    "Run",
    "RunFolder",
    "RunSettings",
    "SearchResult",
    "SearchSettings",
    "SearchSpace",
    "TrialListener",
    "TrialRecord",
    "best_feasible",
    "builtin_seeds",
    "builtin_spaces",
    "check_trial",
    "ensure_space_can_fit",
    "footprint_of",
    "leaderboard_rows",
    "load_space",
    "open_study",
    "parse_space",
    "run_search",
    "sort_rows",
    "trained_trials",
    "trial_row",
    "with_test_accuracy",
]
