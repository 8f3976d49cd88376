"""The issue-12 comparison's bookkeeping on synthetic scores: the summary's claim tables, the
plots, paired differences and the two-at-a-time scheduler (no training, no Go eval)."""
import argparse
import threading
import time

import pytest

from models.train.experiments import compare as C

RUNS = ["cdiffuse", "restoregrad", "restoregrad-noposterior", "priorgrad", "restoregrad-lam5",
        "restoregrad-hidden96"]
STEPS = (500, 1000, 1500, 2000)
FILES = [f"v{i:02d}.wav" for i in range(8)]


def pesq(run: str, step: int, k: int) -> float:
    """Synthetic final values: cdiffuse ends at 2.0 (6 steps); restoregrad is at 2.1 from step 500
    at 3 and 6 steps (claim 1 at 1/4 of the steps), 1.9 at 1 step, 2.05 at 2; noposterior 0.1
    lower everywhere; priorgrad never reaches cdiffuse; the others as restoregrad."""
    if run == "cdiffuse":
        return 1.5 + 0.5 * step / 2000 - (0.2 if k < 6 else 0.0)
    if run == "priorgrad":
        return 1.2 + 0.1 * step / 2000
    base = {1: 1.9, 2: 2.05, 3: 2.1, 6: 2.1}[k]
    return base - (0.1 if run == "restoregrad-noposterior" else 0.0)


def rows() -> list[dict]:
    out = []
    for run in RUNS:
        for step in STEPS:
            for k in C.SAMPLER_STEPS:
                p = pesq(run, step, k)
                out.append({"run": run, "objective": run, "config": "tf-rt", "step": str(step),
                            "schedule": "uniform", "sampler_steps": str(k), "pesq_wb": f"{p:.4f}",
                            "stoi": "0.9000", "estoi": "0.8000", "si_sdr": f"{10 * p:.3f}",
                            "noisy_pesq_wb": "1.5000", "noisy_stoi": "0.8900", "noisy_estoi": "0.7900",
                            "noisy_si_sdr": "6.000", "files": str(len(FILES)), "pesq_wb_ci95": "0.1000",
                            "stoi_ci95": "0.0100", "estoi_ci95": "0.0100", "si_sdr_ci95": "1.000"})
    return out


def perfile() -> dict:
    # Per-file scores of the final checkpoints: the run's mean plus a file-dependent offset that
    # every run shares, so paired differences are exact.
    return {run: {k: {f: pesq(run, 2000, k) + 0.01 * i for i, f in enumerate(FILES)} for k in C.SAMPLER_STEPS}
            for run in RUNS}


def info() -> dict:
    return {r: {"objective": r, "what": "", "params_denoiser": 73634,
                "params_prior": 74785 if "hidden" in r else 12705,
                "params_posterior": 84097 if "hidden" in r else 15809,
                "steps_done": 2000, "train_minutes": 20.0} for r in RUNS}


def args() -> argparse.Namespace:
    return argparse.Namespace(config="tf-rt", seed=1, batch=8, steps=2000, ckpt_every=500, schedule_floor=0.0)


LEAK = [{"run": "restoregrad", "step": "2000", "prior": "10.98", "post": "17.85", "noisy": "6.0", "files": "64"},
        {"run": "restoregrad", "step": "500", "prior": "9.00", "post": "9.50", "noisy": "6.0", "files": "64"},
        {"run": "restoregrad-lam5", "step": "2000", "prior": "11.00", "post": "11.20", "noisy": "6.0", "files": "64"}]


def table_row(md: str, section: str, run: str) -> str:
    """The row of `run` in the first table after the heading that starts with `section`."""
    part = md.split(section, 1)[1]
    return next(l for l in part.splitlines() if l.startswith(f"| {run} |"))


def test_summary_claims():
    md = C.summarize(rows(), info(), LEAK, perfile(), args())
    # Claim 1: restoregrad reaches cdiffuse's final 6-step PESQ-WB (2.0) at its first checkpoint.
    r = table_row(md, "## Claim 1", "restoregrad")
    assert "500 (0.25, ≤ 1/3)" in r
    assert "not reached" in table_row(md, "## Claim 1", "priorgrad")
    assert "2000 (1.00)" in table_row(md, "## Claim 1", "cdiffuse")
    # Claim 2: the 3 - 6 step gap, paired; and fewest steps for cdiffuse's 6-step quality.
    r = table_row(md, "## Claim 2", "restoregrad")
    assert "+0.000 ± 0.000" in r and r.endswith("yes |")
    assert table_row(md, "## Claim 2", "cdiffuse").endswith("no |")  # 1.8 vs 2.0
    # Claim 3: restoregrad - noposterior = +0.1 at every step count, exactly (paired).
    r = next(l for l in md.split("## Claim 3", 1)[1].splitlines() if l.startswith("| restoregrad − restoregrad-noposterior"))
    assert r.count("+0.100 ± 0.000 (CI excludes 0)") == 4
    # Claim 4: hidden96 - restoregrad = 0 and the parameter counts.
    r = next(l for l in md.split("## Claim 4", 1)[1].splitlines() if l.startswith("| restoregrad-hidden96 − restoregrad"))
    assert "+0.000 ± 0.000 |" in r and "CI excludes" not in r
    assert "prior 74785, posterior 84097" in md
    # Leak: the final checkpoint's figures per run.
    r = table_row(md, "## Posterior leak", "restoregrad")
    assert "| 2000 | 10.98 | 17.85 | +6.87 |" in r
    assert "+0.20" in table_row(md, "## Posterior leak", "restoregrad-lam5")
    # Final values with their intervals.
    assert "2.100 ± 0.100" in table_row(md, "**PESQ-WB**", "restoregrad")


def test_fewest_steps():
    md = C.summarize(rows(), info(), LEAK, perfile(), args())
    fewest = md.split("Fewest sampler steps", 1)[1]
    # cdiffuse @6 = 2.0: restoregrad reaches it at 2 steps (2.05), noposterior at 3 (2.0), cdiffuse
    # at 6; priorgrad @6 = 1.3: everyone at 1 step.
    assert "| restoregrad | 2 | 1 |" in fewest
    assert "| restoregrad-noposterior | 3 | 1 |" in fewest
    assert "| cdiffuse | 6 | 1 |" in fewest
    assert "| priorgrad | not reached | 1 |" in fewest
    assert "restoregrad needs 1 step(s) where priorgrad needs 1 for priorgrad's 6-step quality: 1.0x fewer" in md
    assert "restoregrad needs 2 step(s) where cdiffuse needs 6 for cdiffuse's 6-step quality: 3.0x fewer" in md


def test_unequal_budgets_are_flagged():
    i = info()
    i["priorgrad"]["steps_done"] = 1500
    md = C.summarize(rows(), i, LEAK, perfile(), args())
    assert "Runs end at different steps ([1500, 2000])" in md


def test_missing_baseline():
    rs = [r for r in rows() if r["run"] != "cdiffuse"]
    i = {k: v for k, v in info().items() if k != "cdiffuse"}
    md = C.summarize(rs, i, [], {}, args())
    assert "No cdiffuse run: not scored." in md
    assert "No run with a Posterior Net scored." in md
    assert C.summarize([], {}, [], {}, args()).endswith("No scores yet.\n")


def test_plots(tmp_path):
    written = C.write_plots(rows(), LEAK, tmp_path, RUNS)
    names = sorted(p.name for p in written)
    assert len(names) == 4 * 4 + 1
    assert "pesq_wb_3step.png" in names and "estoi_6step.png" in names and "leak_gap.png" in names
    for p in written:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_paired():
    d, ci, n = C.paired({"a": 2.0, "b": 3.0, "c": 4.0}, {"a": 1.0, "b": 1.0, "c": 1.0, "z": 9.0})
    assert n == 3 and d == pytest.approx(2.0)
    assert ci == pytest.approx(1.96 * 1.0 / 3 ** 0.5)
    assert C.paired({"a": 1.0}, {"a": 1.0}) is None


def test_schedule_respects_jobs_and_order():
    lock = threading.Lock()
    live, peak, log = [0], [0], []

    def task(name, fail=False):
        def fn():
            with lock:
                live[0] += 1
                peak[0] = max(peak[0], live[0])
                log.append(("start", name))
            time.sleep(0.05)
            with lock:
                live[0] -= 1
                log.append(("end", name))
            if fail:
                raise RuntimeError("boom")
        return fn

    tasks = [("train a", task("train a", fail=True), None), ("train b", task("train b"), None),
             ("train c", task("train c"), None), ("score a", task("score a"), "train a"),
             ("score c", task("score c"), "train c")]
    failures = C.schedule(tasks, 2)
    assert peak[0] == 2
    assert failures == ["train a: boom"]
    # a scoring starts only after its run's training ended (even a failed one: its checkpoints count)
    for run in ("a", "c"):
        assert log.index(("end", f"train {run}")) < log.index(("start", f"score {run}"))


def test_plan_labels():
    a = argparse.Namespace(lam_strong=5.0, sigma_hidden_large=96, runs=None)
    labels = [r.label for r in C.plan(a)]
    assert labels[:2] == ["cdiffuse", "restoregrad"]
    assert set(labels) == set(RUNS) | {"restoregrad-frame", "priorgrad-frame"}
    a.runs = "cdiffuse,nope"
    with pytest.raises(SystemExit, match="unknown run 'nope'"):
        C.plan(a)
