"""Demo 12 (LoRA beside frozen and full fine-tuning) runs in its --smoke mode and prints its table."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_demo_12_lora_smoke():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(ROOT / "demos" / "12_lora.py"), "--smoke"], capture_output=True,
                          text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    rows = {line.split("  ")[0]: line for line in done.stdout.splitlines()}
    for setup in ("frozen backbone", "LoRA r=4", "adapters r=8", "visual prompt p=2", "full fine-tune"):
        assert setup in rows, done.stdout
    assert "100.00%" in rows["full fine-tune"] and "645" in rows["frozen backbone"]
    assert "853" in rows["visual prompt p=2"]  # 208 border values + the 645 of the head
