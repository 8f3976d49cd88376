"""Where the training pipeline reads and writes, decided once.

Source modules live in models/train; what training produces lives beside it: the small
checkpoints and logs a shipped result depends on (committed) in models/checkpoints, the
scores, tables and curves (committed) in models/results, and everything bulky (every
checkpoint of a run, per-file scores) in runs/ at the repository root (ignored by git).
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINTS = ROOT / "models" / "checkpoints"
RESULTS = ROOT / "models" / "results"
RUNS = ROOT / "runs"
