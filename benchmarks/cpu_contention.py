"""Training speed when another process competes for the cores, with libgomp's default spin-wait and kwsauto's.

PyTorch's CPU thread pool is OpenMP (libgomp), whose idle threads busy-wait up to GOMP_SPINCOUNT spins (300,000 by
default) before sleeping. When another 2-thread process shares a 2-core laptop, both spin against each other and a
training step can take tens of times longer. The ``kwsauto`` command therefore sets ``GOMP_SPINCOUNT=20000`` unless
the user set it. This script measures, side by side, the seconds of a fixed training run (MobileNetV1 0.2 on
random 50x40 inputs, batch 32, 2 torch threads, channels last) with and without a competing 2-thread process.

    python benchmarks/cpu_contention.py [--steps 60]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from rich.console import Console
from rich.table import Table

_TRAIN = """
import time, torch
from kwsauto.models import ModelSpec, create_model
torch.set_num_threads(2)
net = create_model(ModelSpec("mobilenetv1", 0.2), 12, (1, 50, 40)).to(memory_format=torch.channels_last)
opt = torch.optim.Adam(net.parameters(), 0.005)
x = torch.randn(32, 1, 50, 40).contiguous(memory_format=torch.channels_last); y = torch.randint(0, 12, (32,))
start = time.perf_counter()
for _ in range({steps}):
    loss = torch.nn.functional.cross_entropy(net(x), y); opt.zero_grad(); loss.backward(); opt.step()
print(time.perf_counter() - start)
"""
_BUSY = """
import time, torch
torch.set_num_threads(2)
a = torch.randn(512, 512)
while True:
    a = torch.tanh(a @ a.T / 512)
"""


def _run(steps: int, spincount: str | None, competing: bool) -> float:
    env = dict(os.environ)
    env.pop("GOMP_SPINCOUNT", None)
    if spincount is not None:
        env["GOMP_SPINCOUNT"] = spincount
    busy = subprocess.Popen([sys.executable, "-c", _BUSY]) if competing else None
    try:
        if busy is not None:
            time.sleep(2)
        out = subprocess.run([sys.executable, "-c", _TRAIN.format(steps=steps)], env=env, capture_output=True,
                             text=True, timeout=1800, check=True)
        return float(out.stdout.strip().splitlines()[-1])
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    table = Table(title=f"{args.steps} training steps, MobileNetV1 0.2, 2 threads (seconds)")
    for col in ("GOMP_SPINCOUNT", "alone", "beside a 2-thread process", "slowdown"):
        table.add_column(col, justify="left" if col == "GOMP_SPINCOUNT" else "right")
    for spincount, label in ((None, "libgomp default (300000)"), ("20000", "20000 (kwsauto's CLI)")):
        alone = _run(args.steps, spincount, competing=False)
        shared = _run(args.steps, spincount, competing=True)
        table.add_row(label, f"{alone:.1f}", f"{shared:.1f}", f"{shared / alone:.1f}x")
    Console().print(table)


if __name__ == "__main__":
    main()
