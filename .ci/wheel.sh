#!/usr/bin/env bash
# CI: what `pip install kwsauto` gets. Build the wheel, check it holds the search spaces, their seeds and
# py.typed, install it into a fresh virtual environment outside the source tree, and from there run
# `kwsauto --version`, `kwsauto models` and a 2-trial search on the demo data.
# The fresh environment borrows the already-installed dependencies of the active one (torch alone is
# gigabytes) through a .pth file; kwsauto itself comes from the wheel only, and the check below proves it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python -m pip install --quiet 'setuptools>=77'  # the build backend, as pyproject.toml requires (a no-op when present)
python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$work/dist" .
wheel=$(ls "$work"/dist/kwsauto-*.whl)
python - "$wheel" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
needed = ["kwsauto/py.typed", "kwsauto/search_spaces/default.yaml", "kwsauto/search_spaces/quick.yaml",
          "kwsauto/search_spaces/seeds/default.yaml"]
missing = [n for n in needed if n not in names]
if missing:
    sys.exit(f"wheel {sys.argv[1]} lacks {missing}")
print(f"wheel {sys.argv[1].rsplit('/', 1)[-1]}: {len(names)} files, with {', '.join(needed)}")
PY
deps=$(python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
python -m venv "$work/venv"
py="$work/venv/bin/python"
echo "$deps" > "$("$py" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/_kwsauto_ci_deps.pth"
"$py" -m pip install --quiet --no-deps --no-index "$wheel"
cd "$work"
unset PYTHONPATH  # nothing may reach the source tree from here
"$py" - "$repo" <<'PY'
import sys
from pathlib import Path
import kwsauto
from kwsauto.search import builtin_seeds, builtin_spaces, load_space
where = Path(kwsauto.__file__).resolve()
assert Path(sys.argv[1]).resolve() not in where.parents, f"kwsauto imported from the source tree: {where}"
spaces = {name: len(load_space(name).params) for name in sorted(builtin_spaces())}
assert set(spaces) >= {"default", "quick"} and builtin_seeds("default") is not None, spaces
print(f"kwsauto {kwsauto.__version__} from {where.parent}; built-in spaces (searched parameters): {spaces}")
PY
"$work/venv/bin/kwsauto" --version
"$work/venv/bin/kwsauto" models
# the quick space, shortened to 2 epochs so that CI stays fast: its shipped pretrained backbones, the demo data
cat > "$work/quick2.yaml" <<'YAML'
features: {kind: mfe, frame_length_s: 0.02, frame_stride_s: 0.02, n_filters: 40}
model: {arch: mobilenetv1, width: {choices: [0.1, 0.2]}, pretrained: true}
train: {epochs: 2, learning_rate: {float: [0.002, 0.01], log: true}, freeze_epochs: 0}
YAML
"$work/venv/bin/kwsauto" search --trials 2 --space "$work/quick2.yaml" --out "$work/run"
test -f "$work/run/best/card.json"
echo "wheel install: search and models ran from $work/venv"
