"""Score gate rules on the runs collected by ``collect.py``; write docs/accuracy.md.

For each condition and each R in (1, 3, 5), the harness draws ``--draws``
random pairs of disjoint process sets (S1, S2) of size R from the collected
pool. Side A is S1's runs of the workloads at factor 1.00; side B is S2's runs
at factor f. f = 1.00 gives A/A pairs (every flag is a false alarm); f > 1
gives A/B pairs with a known slowdown. Every rule sees the same pairs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from pydantic import BaseModel
from scipy import stats

from perfgate import Benchmark, Config, ResultsFile, Run, compare, load_results
from perfgate.verdict._confirm import confirm

HERE = Path(__file__).resolve().parent
FACTORS = ("1.00", "1.02", "1.05", "1.10", "1.20")
# (baseline runs, current runs): equal sides, plus the usual stored flow of a
# several-run baseline against one run on the pull request.
SIDES = ((1, 1), (3, 3), (5, 5), (5, 1))
START = datetime(2026, 1, 1, tzinfo=UTC)

# One side of a pair: workload -> one Benchmark per run.
Side = dict[str, list[Benchmark]]
# Extra runs of the current side, one process at a time (for adaptive confirmation).
MoreRuns = Callable[[], dict[str, Benchmark] | None]
# A rule judges a whole suite: workload -> "regression" | "improvement" | "unchanged" |
# "inconclusive", and says how many current runs it used.
Rule = Callable[[Side, Side, MoreRuns], tuple[dict[str, str], int]]


def load_pool(data: Path, condition: str) -> list[dict[tuple[str, str], Benchmark]]:
    """Every process of a condition: (workload, factor) -> its Benchmark, named by workload."""
    pool = []
    for path in sorted(data.glob(f"{condition}-*.json")):
        (run,) = load_results(path).runs
        entries = {}
        for bench in run.benchmarks:
            # test_workload[<workload>-x<factor>]
            workload, factor = bench.name.split("[", 1)[1].rstrip("]").split("-x")
            entries[(workload, factor)] = bench.model_copy(update={"name": workload})
        pool.append(entries)
    return pool


# --- the rules --------------------------------------------------------------------------------


def _results(side: Side) -> ResultsFile:
    runs = len(next(iter(side.values())))
    return ResultsFile(
        runs=tuple(
            Run(started_at=START, benchmarks=tuple(b[i] for b in side.values()))
            for i in range(runs)
        )
    )


def perfgate_rule(config: Config, *, confirmation: bool = False) -> Rule:
    """perfgate's engine; with ``confirmation``, its adaptive confirmation too,
    fed by further processes of the pool (the real ``confirm`` loop)."""

    def judge(base: Side, cur: Side, more_runs: MoreRuns) -> tuple[dict[str, str], int]:
        def measure(names: Sequence[str]) -> ResultsFile | None:
            run = more_runs()
            if run is None:
                return None
            return _results({name: [run[name]] for name in names})

        outcome = confirm(
            _results(base),
            _results(cur),
            config,
            measure,
            budget_s=float("inf") if confirmation else 0.0,
            max_runs=config.confirm_max_runs if confirmation else 0,
        )
        verdicts = {b.name: str(b.status) for b in outcome.comparison.benchmarks}
        return verdicts, len(next(iter(cur.values()))) + outcome.extra_runs

    return judge


def pytest_benchmark_rule(field: str, threshold_pct: float = 5.0) -> Rule:
    """pytest-benchmark's --benchmark-compare-fail=FIELD:5%: one saved run against one new run."""
    summarise = statistics.fmean if field == "mean" else statistics.median

    def judge(base: Side, cur: Side, _more: MoreRuns) -> tuple[dict[str, str], int]:
        out = {}
        for name in base:
            before = summarise(base[name][0].samples)
            after = summarise(cur[name][0].samples)
            out[name] = (
                "regression" if (after - before) / before * 100 > threshold_pct else "unchanged"
            )
        return out, 1

    return judge


def asv_rule(factor: float = 1.05, p_threshold: float = 0.002) -> Rule:
    """asv-style: median ratio beyond the factor and Mann-Whitney p below 0.002, on all samples."""

    def judge(base: Side, cur: Side, _more: MoreRuns) -> tuple[dict[str, str], int]:
        out = {}
        for name in base:
            before = [s for b in base[name] for s in b.samples]
            after = [s for b in cur[name] for s in b.samples]
            ratio = statistics.median(after) / statistics.median(before)
            p = stats.mannwhitneyu(after, before, alternative="two-sided").pvalue
            out[name] = "regression" if ratio > factor and p < p_threshold else "unchanged"
        return out, len(next(iter(cur.values())))

    return judge


# --- scoring ------------------------------------------------------------------------------


class Cell(BaseModel):
    """One rule, one condition, one R."""

    rule: str
    condition: str
    baseline_runs: int
    current_runs: int
    pairs: int
    false_alarm_benchmark: float
    false_alarm_suite: float
    power: dict[str, float]
    inconclusive: dict[str, float]
    mean_current_runs: float
    """Current runs used on average (more than ``current_runs`` with confirmation)."""
    seconds_per_compare: float


class InstructionScore(BaseModel):
    """Instruction mode on the same workloads (from instructions.py)."""

    runs: dict[str, int]
    factors: list[str]
    max_aa_spread_pct: dict[str, float]
    """Per condition: the largest (max/min - 1) of a workload's count at factor 1.00."""
    false_alarms: dict[str, int]
    """Per threshold (percent): A/A comparisons beyond it."""
    comparisons_aa: int
    detected: dict[str, dict[str, float]]
    """Per threshold, per factor: share of cross-run comparisons beyond the threshold."""
    seconds_time_mode: float
    seconds_instruction_mode: float
    mislead: dict[str, dict[str, float]]
    """Per case: count ratio and time ratio, changed / base."""


THRESHOLDS_PCT = ("1", "0.5")


def score_instructions(data: Path) -> InstructionScore | None:
    path = data / "instructions.json"
    if not path.is_file():
        return None
    raw = json.loads(path.read_text())
    runs: dict[str, list[dict[str, float]]] = raw["runs"]
    factors: list[str] = raw.get("factors", list(FACTORS))
    every = [r for condition in runs.values() for r in condition]
    workloads = sorted({key.split("-x")[0] for key in every[0]})

    def spread_pct(values: list[float]) -> float:
        return 100 * (max(values) / min(values) - 1)

    spread = {
        condition: max(spread_pct([r[f"{w}-x1.00"] for r in found]) for w in workloads)
        for condition, found in runs.items()
    }
    pairs = [(a, b) for i, a in enumerate(every) for j, b in enumerate(every) if i != j]

    def flagged(a: dict[str, float], b: dict[str, float], w: str, f: str, pct: str) -> bool:
        return b[f"{w}-x{f}"] / a[f"{w}-x1.00"] > 1 + float(pct) / 100

    false_alarms = {
        pct: sum(flagged(a, b, w, "1.00", pct) for a, b in pairs for w in workloads)
        for pct in THRESHOLDS_PCT
    }
    detected = {
        pct: {
            f: statistics.fmean(flagged(a, b, w, f, pct) for a, b in pairs for w in workloads)
            for f in factors[1:]
        }
        for pct in THRESHOLDS_PCT
    }
    seconds = raw["seconds"]
    return InstructionScore(
        runs={c: len(r) for c, r in runs.items()},
        factors=factors,
        max_aa_spread_pct=spread,
        false_alarms=false_alarms,
        comparisons_aa=len(pairs) * len(workloads),
        detected=detected,
        seconds_time_mode=statistics.fmean(seconds["time"]),
        seconds_instruction_mode=statistics.fmean(seconds["instructions"]),
        mislead=raw.get("mislead", {}),
    )


class _Tally:
    """Verdicts of one rule in one setting, counted the same way for every rule."""

    def __init__(self, workloads: list[str]) -> None:
        self.workloads = workloads
        self.flags: dict[str, list[bool]] = defaultdict(list)
        self.unclear: dict[str, list[bool]] = defaultdict(list)
        self.suite_alarms = 0
        self.started = time.perf_counter()

    def add(self, factor: str, verdicts: dict[str, str]) -> None:
        self.flags[factor] += [verdicts[w] == "regression" for w in self.workloads]
        self.unclear[factor] += [verdicts[w] == "inconclusive" for w in self.workloads]
        if factor == "1.00":
            self.suite_alarms += any(verdicts[w] == "regression" for w in self.workloads)

    def cell(self, rule: str, condition: str, runs: tuple[int, int], draws: int,
             mean_current_runs: float) -> Cell:  # fmt: skip
        return Cell(
            rule=rule,
            condition=condition,
            baseline_runs=runs[0],
            current_runs=runs[1],
            pairs=draws,
            false_alarm_benchmark=statistics.fmean(self.flags["1.00"]),
            false_alarm_suite=self.suite_alarms / draws,
            power={f: statistics.fmean(self.flags[f]) for f in FACTORS[1:]},
            inconclusive={f: statistics.fmean(self.unclear[f]) for f in FACTORS},
            mean_current_runs=mean_current_runs,
            seconds_per_compare=(time.perf_counter() - self.started) / (draws * len(FACTORS)),
        )


class LiveCell(BaseModel):
    """Live ``perfgate ab`` trials (live_ab.py) of one setting and condition, judged at
    one threshold."""

    config: str
    """The live_ab.py setting (schedule, pinning)."""
    condition: str
    threshold_pct: float
    trials_aa: int
    aa_suites_failed: int
    aa_flagged: int
    """A/A benchmarks called a regression (false alarms)."""
    aa_likely: int
    """A/A benchmarks called a likely regression (not a failure, not a plain pass)."""
    aa_benchmarks: int
    aa_p_below_alpha: int
    """A/A benchmarks whose own test (before false-discovery control) gave p < α:
    the calibration check, at most α of ``aa_benchmarks`` when the test is honest."""
    detected: dict[str, list[int]]
    """Per true factor: [called a regression, benchmarks]."""
    seconds: float
    """Mean wall time of one trial, both sides, everything included."""
    worker_pairs: float
    round_sd_log: float
    """Median over benchmarks and trials: robust sd of one pair of rounds' log ratio."""
    pair_sd_log: float
    """Median over benchmarks and trials: sd of the worker pairs' estimates."""


class Spread(BaseModel):
    """How much two measurements of the same work disagree (log-sd), from the pool."""

    between_processes: dict[str, float]
    """Per condition, median over workloads: sd of log run medians at 1.00."""
    within_process: dict[str, float]
    """Per condition, median over workloads: sd of log(1.05 median / 1.00 median) of one process."""


class Score(BaseModel):
    cells: list[Cell]
    instructions: InstructionScore | None = None
    live: list[LiveCell] = []
    spread: Spread | None = None
    stored_four_times: dict[str, str] = {}
    processes: dict[str, int]
    seconds_per_process: dict[str, float]
    draws: int
    workloads: list[str]


def score(data: Path, draws: int, rules: dict[str, Rule], seed: int = 0) -> Score:
    timings = json.loads((data / "timings.json").read_text())
    cells = []
    processes = {}
    workloads: list[str] = []
    for condition in timings:
        pool = load_pool(data, condition)
        processes[condition] = len(pool)
        workloads = sorted({w for w, _ in pool[0]})
        for base_runs, cur_runs in SIDES:
            rng = random.Random(f"{seed}-{condition}-{base_runs}-{cur_runs}")
            pairs = []
            for _ in range(draws):
                chosen = rng.sample(range(len(pool)), base_runs + cur_runs)
                pairs.append((chosen[:base_runs], chosen[base_runs:]))
            for rule_name, rule in rules.items():
                tally = _Tally(workloads)
                used_runs: list[int] = []
                for s1, s2 in pairs:
                    base = {w: [pool[i][(w, "1.00")] for i in s1] for w in workloads}
                    spare = [i for i in range(len(pool)) if i not in s1 and i not in s2]
                    for factor in FACTORS:
                        cur = {w: [pool[i][(w, factor)] for i in s2] for w in workloads}
                        unused = iter(spare)

                        def more_runs(
                            unused: Iterator[int] = unused,
                            factor: str = factor,
                            pool: list[dict[tuple[str, str], Benchmark]] = pool,
                            workloads: list[str] = workloads,
                        ) -> dict[str, Benchmark] | None:
                            index = next(unused, None)
                            if index is None:
                                return None
                            return {w: pool[index][(w, factor)] for w in workloads}

                        verdicts, runs_used = rule(base, cur, more_runs)
                        used_runs.append(runs_used)
                        tally.add(factor, verdicts)
                cells.append(
                    tally.cell(
                        rule_name,
                        condition,
                        (base_runs, cur_runs),
                        draws,
                        statistics.fmean(used_runs),
                    )
                )
                print(f"scored {rule_name} {condition} {base_runs}v{cur_runs}", file=sys.stderr)
    cells.extend(score_ab(data, draws))
    return Score(
        live=score_live(data.parent / "data-live"),
        spread=spread(data),
        stored_four_times=four_times_case(),
        instructions=score_instructions(data),
        cells=cells,
        processes=processes,
        seconds_per_process={c: statistics.fmean(t) for c, t in timings.items()},
        draws=draws,
        workloads=workloads,
    )


AB_ROUNDS = (3, 5, 8)


def score_ab(data: Path, draws: int, seed: int = 0) -> list[Cell]:
    """perfgate's A/B mode: the pool's processes ran one after another, so
    processes 2k and 2k+1 are a round (A then B, adjacent in time). A pair of
    R rounds draws R of these rounds; A is the first process of each round at
    factor 1.00, B the second at factor f; the analysis is paired."""
    timings = json.loads((data / "timings.json").read_text())
    config = Config()
    cells = []
    for condition in timings:
        pool = load_pool(data, condition)
        workloads = sorted({w for w, _ in pool[0]})
        rounds_available = len(pool) // 2
        for rounds in AB_ROUNDS:
            if rounds > rounds_available:
                continue
            rng = random.Random(f"{seed}-ab-{condition}-{rounds}")
            tally = _Tally(workloads)
            for _ in range(draws):
                chosen = sorted(rng.sample(range(rounds_available), rounds))
                for factor in FACTORS:
                    base = _results(
                        {w: [pool[2 * r][(w, "1.00")] for r in chosen] for w in workloads}
                    )
                    head = _results(
                        {w: [pool[2 * r + 1][(w, factor)] for r in chosen] for w in workloads}
                    )
                    verdicts = {
                        b.name: str(b.status)
                        for b in compare(base, head, config, paired=True).benchmarks
                    }
                    tally.add(factor, verdicts)
            # Both sides run in the job: 2 x rounds processes.
            cells.append(
                tally.cell(
                    "perfgate A/B (paired rounds)", condition, (rounds, rounds), draws, 2 * rounds
                )
            )
            print(f"scored A/B {condition} {rounds} rounds", file=sys.stderr)
    return cells


LIVE_THRESHOLDS_PCT = (5.0, 2.0)


def _load_side(trial_dir: Path, pattern: str) -> ResultsFile | None:
    files = sorted(trial_dir.glob(pattern), key=lambda p: int("".join(filter(str.isdigit, p.stem))))
    if not files:
        return None
    return ResultsFile(runs=tuple(run for f in files for run in load_results(f).runs))


LIVE_CONFIGS = ("alternate", "duet", "alternate-unpinned", "process")


def score_live(live: Path) -> list[LiveCell]:
    """Judge the kept raw rounds of every live trial again, at each threshold."""
    cells = []
    for config_name in LIVE_CONFIGS:
        if (live / config_name).is_dir():
            cells += _score_live_config(live / config_name, config_name)
    return cells


def _score_live_config(live: Path, config_name: str) -> list[LiveCell]:
    trials = [json.loads(p.read_text()) for p in sorted(live.glob("*.trial.json"))]
    cells = []
    for condition in sorted({t["condition"] for t in trials}):
        mine = [t for t in trials if t["condition"] == condition]
        for threshold in LIVE_THRESHOLDS_PCT:
            config = Config(threshold_pct=threshold)
            failed = flagged = likely = aa_total = p_below = 0
            detected: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            round_sds: list[float] = []
            pair_sds: list[float] = []
            pairs: list[int] = []
            for t in mine:
                trial_dir = live / f"{t['condition']}-{t['scenario']}-{t['repetition']}"
                pattern = "{side}-pair*.json" if config_name != "process" else "{side}-*.json"
                base = _load_side(trial_dir, pattern.format(side="base"))
                head = _load_side(trial_dir, pattern.format(side="head"))
                if base is None or head is None:
                    continue
                comparison = compare(base, head, config, paired=True)
                pairs.append(len(base.runs))
                for b in comparison.benchmarks:
                    factor = t["factors"][b.name.split("[", 1)[1].rstrip("]")]
                    if b.spread is not None:
                        round_sds.append(b.spread.round_sd_log)
                        if b.spread.pair_sd_log is not None:
                            pair_sds.append(b.spread.pair_sd_log)
                    if factor == 1.0:
                        aa_total += 1
                        flagged += b.status == "regression"
                        likely += b.status == "likely-regression"
                        p_below += b.p_value is not None and b.p_value < config.alpha
                    else:
                        cell = detected[f"{factor:.2f}"]
                        cell[0] += b.status == "regression"
                        cell[1] += 1
                if t["scenario"] == "aa":
                    failed += comparison.verdict == "fail"
            cells.append(
                LiveCell(
                    config=config_name,
                    condition=condition,
                    threshold_pct=threshold,
                    trials_aa=sum(t["scenario"] == "aa" for t in mine),
                    aa_suites_failed=failed,
                    aa_flagged=flagged,
                    aa_likely=likely,
                    aa_benchmarks=aa_total,
                    aa_p_below_alpha=p_below,
                    detected=dict(detected),
                    seconds=statistics.fmean(t["seconds"] for t in mine),
                    worker_pairs=statistics.fmean(pairs) if pairs else 0.0,
                    round_sd_log=statistics.median(round_sds) if round_sds else 0.0,
                    pair_sd_log=statistics.median(pair_sds) if pair_sds else 0.0,
                )
            )
    return cells


def spread(data: Path) -> Spread:
    """NOISE.md §5's two spreads, recomputed from the pool."""
    import math

    timings = json.loads((data / "timings.json").read_text())
    between, within = {}, {}
    for condition in timings:
        pool = load_pool(data, condition)
        workloads = sorted({w for w, _ in pool[0]})
        b, w = [], []
        for workload in workloads:
            ones = [math.log(statistics.median(p[(workload, "1.00")].samples)) for p in pool]
            ratios = [
                math.log(
                    statistics.median(p[(workload, "1.05")].samples)
                    / statistics.median(p[(workload, "1.00")].samples)
                )
                for p in pool
            ]
            b.append(statistics.stdev(ones))
            w.append(statistics.stdev(ratios))
        between[condition] = statistics.median(b)
        within[condition] = statistics.median(w)
    return Spread(between_processes=between, within_process=within)


def four_times_case() -> dict[str, str]:
    """Issue 12's stored case: 13 benchmarks, 3 runs a side, one 4x slower in every
    run (pooled log-sd 0.343), the others noisy and unchanged."""
    import math

    logs = [-0.343, 0.0, 0.343]
    noisy = ([1.0, 1.3, 0.8], [1.1, 0.9, 1.25]), ([1.2, 0.85, 1.0], [0.95, 1.15, 1.3])

    def side(index: int) -> ResultsFile:
        runs = []
        for r in range(3):
            benches = [
                Benchmark(
                    name="slow", samples=((4.0 if index else 1.0) * 1e-3 * math.exp(logs[r]),)
                )
            ]
            benches += [
                Benchmark(name=f"noisy{i}", samples=(1e-3 * noisy[i % 2][index][r],))
                for i in range(12)
            ]
            runs.append(Run(started_at=START, benchmarks=tuple(benches)))
        return ResultsFile(runs=tuple(runs))

    comparison = compare(side(0), side(1), Config())
    slow = next(b for b in comparison.benchmarks if b.name == "slow")
    return {
        "status": str(slow.status),
        "ratio": f"{slow.ratio:.2f}",
        "ci": f"{slow.ci_low:.1f}× to {slow.ci_high:.1f}×",
        "p": f"{slow.p_value:.3f}",
        "q": f"{slow.q_value:.2f}",
        "verdict": str(comparison.verdict),
        "undecided": str(len(comparison.undecided_slowdowns)),
    }


def default_rules() -> dict[str, Rule]:
    return {
        "perfgate": perfgate_rule(Config()),
        "perfgate + confirmation": perfgate_rule(Config(), confirmation=True),
        "pytest-benchmark mean:5%": pytest_benchmark_rule("mean"),
        "pytest-benchmark median:5%": pytest_benchmark_rule("median"),
        "asv (ratio > 1.05, MWU p < 0.002)": asv_rule(),
    }


def render(result: Score, command: str) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("accuracy.md.j2").render(s=result, factors=FACTORS, command=command)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--output", type=Path, default=HERE.parent / "docs" / "accuracy.md")
    parser.add_argument("--json", type=Path, help="also write the scores as JSON")
    parser.add_argument("--command", default="make accuracy", help="command named in the doc")
    args = parser.parse_args(argv)
    result = score(args.data, args.draws, default_rules())
    if args.json:
        args.json.write_text(result.model_dump_json(indent=1))
    args.output.write_text(render(result, args.command))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
