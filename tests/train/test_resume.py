"""Nothing lost: SIGTERM mid-epoch writes a checkpoint; resuming gives bit-identical weights."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

import nerve

CHILD = Path(__file__).with_name("_resume_child.py")


def run_child(out, mode, kill_at=None):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.Popen([sys.executable, str(CHILD), str(out), mode], stdout=subprocess.PIPE,
                            text=True, env=env)
    lines = []
    for line in proc.stdout:
        lines.append(line.strip())
        if kill_at is not None and line.strip() == kill_at:
            proc.send_signal(signal.SIGTERM)
            kill_at = None
    return proc.wait(timeout=120), lines


def test_sigterm_mid_epoch_then_resume_is_bit_identical(tmp_path):
    code, lines = run_child(tmp_path, "straight")
    assert code == 0 and lines[-1] == "DONE"

    code, lines = run_child(tmp_path, "first", kill_at="epoch 2 batch 5")
    assert code == 3, lines[-3:]
    interrupted = [ln for ln in lines if ln.startswith("INTERRUPTED")]
    epoch, batch = map(int, interrupted[0].split()[1:])
    assert epoch == 2 and 6 <= batch < 20  # mid-epoch, right after the signal
    assert (tmp_path / "interrupted.safetensors").exists()

    code, lines = run_child(tmp_path, "resume")
    assert code == 0 and lines[-1] == "DONE"
    assert not any(ln.startswith("epoch 0 ") for ln in lines)  # it did not start over

    straight = nerve.load(tmp_path / "final-straight.safetensors")
    resumed = nerve.load(tmp_path / "final-resume.safetensors")
    assert straight.keys() == resumed.keys()
    for key in straight:
        np.testing.assert_array_equal(straight[key].numpy(), resumed[key].numpy(), err_msg=key)
