"""Calibrated scores against raw means, on simulated panels with known truth (issue 17).

    .venv/bin/python bench/calibration.py [--seeds 200] [--quick] [--ridge 1.0]

No database, no server: `evaluation.calibration.calibrate` (and through it `scoring`) on
simulated reviews. For each setting (proposals, reviewers, reviews per proposal) and seed:

- each proposal's true quality on each of three equally weighted 0-5 criteria is
  2.5 + N(0, 0.8) for the proposal + N(0, 0.4) for the criterion; the true order is that of the
  true Overall (the mean of the three);
- reviewers are assigned at random, balanced (each proposal to the least loaded reviewers so
  far, ties broken at random; loads differ by at most one);
- every reviewer has a leniency N(0, bias sd), the same on every criterion;
- a score is quality + leniency + noise, noise sd 0.7 points, half its variance shared by the
  three scores of one review (a reviewer who likes a proposal tends to like it on every
  criterion: this makes the scores of one review worth less than three independent ones, which
  is what real reviews look like and what keeps the benchmark from flattering the model);
- "integer": rounded to whole points and clipped to 0-5, as reviewers give them; "real": not.

Then Kendall's tau (scipy.stats.kendalltau, tau-b) between the true Overalls and the raw
Overalls, and between the true and the calibrated ones; where calibration falls back (too
sparse), the calibrated order is the raw order, which is what staff would see. Also shown:
- "oracle gain": the gain of taking out each reviewer's *true* leniency: about the most any
  calibration could gain from these reviews;
- "gain, raw ties broken": the gain over raw means with their ties broken at random (integer
  scores make many equal raw means, which tau-b counts as ties and a calibrated order does not
  have; staff at a funding line have to break them somehow).
Targets: with bias sd = noise sd, calibrated beats raw by >= 0.1 tau on average in every
setting; with no bias, calibrated is on average never more than 0.02 tau worse than raw. Prints
a table per setting and score kind, one summary line at the end; exits 1 when a target is
missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rfp_portal.settings")

import django

django.setup()

from fractions import Fraction  # noqa: E402

from evaluation import calibration  # noqa: E402
from evaluation.scoring import CriterionSpec  # noqa: E402

CRITERIA = [CriterionSpec(key, Fraction(1), 0, 5) for key in ("experience", "cost", "process")]
NOISE = 0.7
SHARED = 0.5  # share of the noise's variance common to the scores of one review
QUALITY_SD, CRITERION_SD = 0.8, 0.4
# (proposals, reviewers, reviews per proposal): the ranges, corners and middle.
SETTINGS = [
    (20, 3, 2),
    (20, 5, 3),
    (20, 10, 2),
    (20, 10, 4),
    (50, 4, 3),
    (50, 10, 3),
    (100, 6, 3),
    (200, 3, 2),
    (200, 10, 4),
]
QUICK = [(20, 5, 3), (20, 10, 2), (100, 6, 3), (200, 10, 4)]
GAIN_TARGET = 0.1
LOSS_TARGET = 0.02


def simulate(rng, proposals, reviewers, per_proposal, bias_sd, quality_sd=QUALITY_SD):
    """(true overall per proposal, [(proposal, reviewer, criterion, real score)], leniencies)."""
    quality = (
        2.5
        + rng.normal(0, quality_sd, (proposals, 1))
        + rng.normal(0, CRITERION_SD, (proposals, len(CRITERIA)))
    )
    leniency = rng.normal(0, bias_sd, reviewers) if bias_sd else np.zeros(reviewers)
    load = np.zeros(reviewers)
    scores = []
    for p in rng.permutation(proposals):
        panel = np.argsort(load + rng.random(reviewers), kind="stable")[:per_proposal]
        load[panel] += 1
        for r in panel:
            common = rng.normal(0, NOISE * np.sqrt(SHARED))
            own = rng.normal(0, NOISE * np.sqrt(1 - SHARED), len(CRITERIA))
            values = quality[p] + leniency[r] + common + own
            scores += [(int(p), int(r), c, float(v)) for c, v in enumerate(values)]
    return quality.mean(axis=1), scores, leniency


def taus(truth, scores, leniency, *, integer: bool, ridge: float | None, rng):
    """(raw tau, calibrated tau, calibration usable, oracle tau, raw tau with ties broken at
    random). The oracle knows each reviewer's true leniency and takes it out: the best any
    calibration could do with these reviews."""
    observations = [
        calibration.Observation(
            p, r, CRITERIA[c].key, int(np.clip(np.rint(v), 0, 5)) if integer else round(v, 6)
        )
        for p, r, c, v in scores
    ]
    result = calibration.calibrate(observations, CRITERIA, ridge=ridge)
    ids = range(len(truth))
    raw = [float(result.proposals[p].raw_overall) for p in ids]
    calibrated = [result.proposals[p].overall for p in ids] if result.usable else raw
    panel_leniency = np.zeros(len(truth))
    panel_size = np.zeros(len(truth))
    for p, r, c, _v in scores:
        if c == 0:
            panel_leniency[p] += leniency[r]
            panel_size[p] += 1
    oracle = np.array(raw) - panel_leniency / panel_size
    broken = np.array(raw) + rng.uniform(0, 1e-9, len(raw))
    return (
        kendalltau(truth, raw).statistic,
        kendalltau(truth, calibrated).statistic,
        result.usable,
        kendalltau(truth, oracle).statistic,
        kendalltau(truth, broken).statistic,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, help="simulations per setting (200; --quick 30)")
    parser.add_argument("--quick", action="store_true", help="4 settings, 30 seeds")
    parser.add_argument(
        "--quality-sd", type=float, default=QUALITY_SD, help="spread of the proposals' quality"
    )
    parser.add_argument(
        "--ridge", type=float, default=None, help="a fixed ridge (default: estimated, as staff get)"
    )
    args = parser.parse_args()
    settings = QUICK if args.quick else SETTINGS
    seeds = args.seeds or (30 if args.quick else 200)
    started = time.perf_counter()
    print(
        f"seeds={seeds} ridge={args.ridge or 'estimated'} noise_sd={NOISE} shared={SHARED} "
        f"quality_sd={args.quality_sd}+{CRITERION_SD} thresholds: {calibration.MIN_PROPOSALS} "
        f"proposals, {calibration.MIN_SHARED} shared"
    )
    header = (
        "| proposals | reviewers | reviews each | bias sd | scores | raw tau | calibrated tau "
        "| gain (± 2 s.e.) | oracle gain | gain, raw ties broken | fell back |"
    )
    print(header)
    print("|" + "---|" * 5 + "---:|" * 6)
    gains, losses = [], []
    for proposals, reviewers, per_proposal in settings:
        for bias_sd in (NOISE, 0.0):
            runs = {True: [], False: []}
            for seed in range(seeds):
                # Seeded by the setting, so a --quick run repeats part of the full one.
                rng = np.random.default_rng(
                    [proposals, reviewers, per_proposal, seed, int(bias_sd > 0)]
                )
                truth, scores, leniency = simulate(
                    rng, proposals, reviewers, per_proposal, bias_sd, args.quality_sd
                )
                for integer in (True, False):
                    runs[integer].append(
                        taus(truth, scores, leniency, integer=integer, ridge=args.ridge, rng=rng)
                    )
            for integer in (True, False):
                raw, calibrated, usable, oracle, broken = (
                    np.array(column) for column in zip(*runs[integer], strict=True)
                )
                gain = calibrated - raw
                error = 2 * gain.std(ddof=1) / np.sqrt(len(gain))
                print(
                    f"| {proposals} | {reviewers} | {per_proposal} | {bias_sd:.1f} | "
                    f"{'integer' if integer else 'real'} | {raw.mean():.3f} | "
                    f"{calibrated.mean():.3f} | {gain.mean():+.3f} ± {error:.3f} | "
                    f"{(oracle - raw).mean():+.3f} | {(calibrated - broken).mean():+.3f} | "
                    f"{(~usable).sum()}/{len(usable)} |"
                )
                (gains if bias_sd else losses).append(gain.mean())
            sys.stdout.flush()
    elapsed = time.perf_counter() - started
    short = sum(g < GAIN_TARGET for g in gains)
    worse = sum(change < -LOSS_TARGET for change in losses)
    missed = []
    if short:
        missed.append(f"gain < {GAIN_TARGET} in {short} of {len(gains)} rows with bias")
    if worse:
        missed.append(f"loss > {LOSS_TARGET} in {worse} of {len(losses)} rows without bias")
    verdict = "PASS" if not missed else "FAIL(" + "; ".join(missed) + ")"
    print(
        f"calibration: settings={len(settings)} seeds={seeds} ridge={args.ridge or 'estimated'} "
        f"min_gain_with_bias={min(gains):+.3f} max_gain_with_bias={max(gains):+.3f} "
        f"mean_gain_with_bias={np.mean(gains):+.3f} "
        f"worst_change_without_bias={min(losses):+.3f} time={elapsed:.0f}s {verdict}"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
