from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    """Three tone classes, 6 speakers, 2 clips each: enough for a split, decoded in a second."""
    from tests.conftest import write_tone_dataset

    return write_tone_dataset(tmp_path_factory.mktemp("small"), speakers=6, reps=2)
