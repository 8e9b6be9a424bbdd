import io

from rich.console import Console

from kwsauto.report import leaderboard_table


def _render(rows) -> str:
    out = io.StringIO()
    Console(file=out, width=160).print(leaderboard_table(rows))
    return out.getvalue()


def _row(number: int, device: str | None) -> dict:
    return {"number": number, "state": "complete", "val_accuracy": 0.9, "model": "dscnn 49x10", "ram_bytes": 30_000,
            "seconds": 12.0, "device": device}


def test_device_column_appears_once_a_trial_ran_off_the_cpu():
    assert "device" not in _render([_row(0, "cpu"), _row(1, None)])
    text = _render([_row(0, "cuda:0"), _row(1, "cuda:1"), _row(2, "cpu")])
    header = next(line for line in text.splitlines() if "state" in line)
    assert "device" in header and "cuda:1" in text and "cuda:0" in text


def test_class_metrics_table_takes_typed_metrics():
    import torch

    from kwsauto.report import class_metrics_table
    from kwsauto.training import classification_metrics

    metrics = classification_metrics(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 1, 1]), ("yes", "no"))
    out = io.StringIO()
    Console(file=out, width=100).print(class_metrics_table(metrics.per_class, metrics.accuracy, metrics.macro_f1))
    text = out.getvalue()
    assert "yes" in text and "0.667" in text and "accuracy 75.0%" in text
    assert metrics.to_dict()["per_class"] == metrics.per_class


def test_the_caption_counts_hidden_trials_and_names_a_command_only_when_given_one():
    rows = [_row(n, None) for n in range(3)]
    for show_all, caption in ((None, "2 more trial(s)"), (lambda n: f"see all {n}", "2 more trial(s): see all 3")):
        table = leaderboard_table(rows, top=1, show_all=show_all)
        assert table.caption == caption
