"""Metrics across processes: with `PROMETHEUS_MULTIPROC_DIR` (several API processes
behind one port), any process renders every process's values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

COUNT_ONE = (
    "from app.metrics import DELIVERIES, WINDOWS_OPENED\n"
    "DELIVERIES.labels('succeeded').inc()\n"
    "WINDOWS_OPENED.inc(3)\n"
)
RENDER = (
    "import sys\n"
    "from app.metrics import render_metrics\n"
    "sys.stdout.buffer.write(render_metrics()[0])\n"
)


def run(code: str, directory: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, check=True, timeout=60
    )
    return done.stdout.decode()


def test_multiprocess_mode_adds_up_every_process(tmp_path: Path) -> None:
    run(COUNT_ONE, tmp_path)
    run(COUNT_ONE, tmp_path)

    text = run(RENDER, tmp_path)

    values = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert values[("followup_webhook_deliveries_total", (("outcome", "succeeded"),))] == 2
    assert values[("followup_windows_opened_total", ())] == 6
