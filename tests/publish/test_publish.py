"""Publishing to GitHub, end to end through PyGithub against a loopback server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from github import Auth, Github

from perfgate import Comparison, Config, Verdict, compare
from perfgate.publish._github import (
    COMMENT_LIMIT,
    MARKER,
    RETRY_BUDGET_S,
    build_comment,
    label_acceptance,
)
from perfgate.publish._github_context import GitHubContext
from perfgate.publish._publishers import publish
from perfgate.report._history import HistoryEntry, Point
from tests.conftest import assert_matches_golden
from tests.github_server import FakeGitHub

TOKEN = "ghs_s3cr3tTOKENvalue0123456789"
HOSTILE = [
    "@org/team summons",
    "</details> breaks out",
    "| pipe | in name",
    "<script>alert(1)</script>",
    "x" * 5000,
]


def _client(ctx: GitHubContext) -> Github:
    return Github(
        auth=Auth.Token(TOKEN), base_url=ctx.api_url, retry=None, lazy=True,
        seconds_between_requests=None, seconds_between_writes=None,
    )  # fmt: skip


def _ctx(fake: FakeGitHub, tmp_path: Path, **changes) -> GitHubContext:
    values = {
        "repository": "octo/proj",
        "api_url": fake.url,
        "server_url": "https://github.example",
        "token": TOKEN,
        "pr_number": 7,
        "head_sha": "a" * 40,
        "base_sha": "b" * 40,
        "run_id": "99",
        "step_summary": tmp_path / "summary.md",
    }
    return GitHubContext.model_validate({**values, **changes})


def _comparison(
    results, slow: bool, names=("tests/b.py::test_parse", "tests/b.py::test_io"), runs=3
) -> Comparison:
    """3 runs a side by default; a pass needs enough runs to judge ±5% (MDE ≤ 5%)."""
    factor = 1.6 if slow else 1.0
    return compare(*_suite(results, dict.fromkeys(names, factor), runs, names=names), Config())


def _publish(comparison, ctx, config=None, history=(), **kwargs):
    return publish(
        comparison, ctx, config or Config(), list(history),
        client_factory=_client, sleep=lambda _s: None, **kwargs,
    )  # fmt: skip


def test_first_publish_creates_check_comment_and_summary(github, tmp_path, results):
    comparison = _comparison(results, slow=True)
    result = _publish(comparison, _ctx(github, tmp_path))
    assert (result.check_run, result.comment, result.summary_written) == (
        "created",
        "created",
        True,
    )
    (check,) = github.check_runs.values()
    assert check["head_sha"] == "a" * 40
    assert check["name"] == "perfgate"
    assert check["conclusion"] == "failure"
    assert check["output"]["title"].startswith("perfgate: FAIL, 2 regressions")
    assert check["details_url"] == "https://github.example/octo/proj/actions/runs/99"
    (comment,) = github.comments_on(7)
    assert comment["body"].startswith(MARKER)
    assert "### ❌ perfgate: FAIL" in comment["body"]
    assert (tmp_path / "summary.md").read_text().startswith("\n### ❌ perfgate: FAIL")
    auth = [r.headers.get("Authorization") for r in github.requests]
    assert f"token {TOKEN}" in auth


def test_a_likely_regression_gives_a_neutral_check_never_a_green_one(github, tmp_path, four_times):
    comparison = compare(*four_times, Config())
    assert comparison.verdict is Verdict.PASS
    _publish(comparison, _ctx(github, tmp_path))
    (check,) = github.check_runs.values()
    assert check["conclusion"] == "neutral"
    assert check["output"]["title"].startswith("perfgate: no verdict, 1 likely regression")
    (comment,) = github.comments_on(7)
    assert "### ⚠️ perfgate: no verdict" in comment["body"]
    assert "| ⚠️ | slow | 4.00× | 1.84× to 8.71× |" in comment["body"]
    assert "**What would decide it:**" in comment["body"]


def test_republish_edits_the_one_comment(github, tmp_path, results):
    ctx = _ctx(github, tmp_path)
    _publish(_comparison(results, slow=True), ctx)
    github.add_comment(7, f"{MARKER} written by someone else", login="mallory")
    result = _publish(_comparison(results, slow=False, runs=10), ctx)
    assert result.comment == "updated"
    mine = [c for c in github.comments_on(7) if c["login"] == "github-actions[bot]"]
    assert len(mine) == 1
    assert "### ✅ perfgate: pass" in mine[0]["body"]
    # One check run per head commit: the re-run edited it from failure to success.
    assert [c["conclusion"] for c in github.check_runs.values()] == ["success"]
    assert result.check_run == "updated"
    # The impostor's comment was matched by marker only, never by identity: untouched.
    assert any(
        c["login"] == "mallory" and "someone else" in c["body"] for c in github.comments_on(7)
    )


def test_the_comment_is_found_across_pages(github, tmp_path, results):
    for index in range(45):
        github.add_comment(7, f"chatter {index}", login="someone")
    ctx = _ctx(github, tmp_path)
    _publish(_comparison(results, slow=True), ctx)
    assert _publish(_comparison(results, slow=True), ctx).comment == "updated"
    assert len([c for c in github.comments_on(7) if MARKER in c["body"]]) == 1


@pytest.mark.parametrize("after_effect", [False, True], ids=["lost-request", "lost-response"])
def test_5xx_then_success_never_duplicates(github, tmp_path, results, after_effect):
    github.fail("POST", r"/issues/7/comments$", 502, times=2, after_effect=after_effect)
    github.fail("POST", r"/check-runs$", 500, times=1)
    result = _publish(_comparison(results, slow=True), _ctx(github, tmp_path))
    assert result.comment == "created"
    assert len(github.comments_on(7)) == 1
    assert len(github.check_runs) == 1


def test_persistent_5xx_degrades_within_the_retry_budget(github, tmp_path, results):
    """GitHub down: the check run gives up after the stated retry budget, in one
    message; the comment and the summary still go out; nothing raises."""
    github.fail("POST", r"/check-runs$", 503, times=10, message="unavailable")
    waits: list[float] = []
    result = publish(
        _comparison(results, slow=True), _ctx(github, tmp_path), Config(), [],
        client_factory=_client, sleep=waits.append,
    )  # fmt: skip
    assert result.check_run == "failed"
    assert result.comment == "created"
    assert result.summary_written
    assert sum(waits) <= RETRY_BUDGET_S
    (message,) = result.messages
    assert "creating the check run: GitHub answered 503: unavailable" in message


def test_any_403_and_an_unwritable_summary_degrade(github, tmp_path, results):
    github.fail("POST", r"/check-runs$", 403, times=1, message="Forbidden by an org policy")
    ctx = _ctx(github, tmp_path, step_summary=tmp_path / "missing-dir" / "summary.md")
    result = _publish(_comparison(results, slow=True), ctx)
    assert (result.summary_written, result.check_run, result.comment) == (
        False,
        "failed",
        "skipped",
    )
    assert any("job summary not published" in m for m in result.messages)
    assert any("Forbidden by an org policy" in m for m in result.messages)


def test_read_only_token_degrades_cleanly(github, tmp_path, results):
    github.read_only = True
    result = _publish(_comparison(results, slow=True), _ctx(github, tmp_path))
    assert result.summary_written
    assert result.check_run == "failed"
    assert result.comment == "skipped"
    (message,) = result.messages
    assert "token cannot write" in message
    assert "Resource not accessible by integration" in message
    assert "workflow_run" in message
    assert github.comments_on(7) == []


def test_body_too_long_422_is_retried_smaller(github, tmp_path, results):
    names = [f"tests/b.py::test_case_{i}_{'n' * 120}" for i in range(150)]
    comparison = _comparison(results, slow=False, names=names)
    full = build_comment(comparison, _ctx(github, tmp_path), Config(), [])
    github.max_body = 20_000
    assert 20_000 < len(full) <= COMMENT_LIMIT
    result = _publish(comparison, _ctx(github, tmp_path))
    assert result.comment == "created"
    (comment,) = github.comments_on(7)
    assert len(comment["body"]) <= 20_000
    assert "left out to fit GitHub's size limit" in comment["body"]


def test_size_limit_drops_details_but_never_a_regression_row(results, tmp_path):
    names = [f"tests/b.py::test_{i}_" + "y" * 400 for i in range(200)]
    base = results({n: [1.0e-3, 1.01e-3, 0.99e-3] for n in names})
    cur = results(
        {
            n: [(2.0 if i < 60 else 1.0) * v for v in (1.0e-3, 1.01e-3, 0.99e-3)]
            for i, n in enumerate(names)
        }
    )
    comparison = compare(base, cur, Config())
    assert len(comparison.blocking) == 60
    ctx = GitHubContext(repository="o/r", run_id="5", pr_number=1)
    body = build_comment(comparison, ctx, Config(), [], limit=30_000)
    assert len(body) <= 30_000
    assert "<details>\n<summary>140 other" not in body
    for index in range(60):
        assert f"test\\_{index}\\_" in body
    assert "left out to fit GitHub's size limit" in body
    assert "[the run's artifacts](https://github.com/o/r/actions/runs/5)" in body


def test_hostile_names_stay_inert(results, tmp_path):
    comparison = _comparison(results, slow=True, names=HOSTILE)
    body = build_comment(comparison, GitHubContext(repository="o/r", pr_number=1), Config(), [])
    assert "@org/team" not in body
    assert "<script>" not in body
    assert body.count("</details>") == body.count("<details>")
    for line in body.splitlines():
        if line.startswith("| ") and "benchmark |" not in line:
            assert line.replace("\\|", "").count("|") in (4, 6, 7), line[:200]
    assert_matches_golden(body, "comment.md")


def test_a_label_accepts_the_regressions(results):
    comparison = _comparison(results, slow=True)
    ctx = GitHubContext(pr_number=7, labels=("perf-regression-accepted",), label_actor="lead")
    accepted = label_acceptance(comparison, ctx, Config())
    assert accepted.verdict is Verdict.PASS
    assert all(b.accepted for b in accepted.with_status("regression"))
    assert (
        "label `perf-regression-accepted` on pull request #7 added by @lead"
        in accepted.benchmarks[0].reason
    )
    assert label_acceptance(comparison, GitHubContext(), Config()).verdict is Verdict.FAIL


def test_trend_charts_come_from_history(results):
    comparison = _comparison(results, slow=True)
    history = [
        HistoryEntry(commit=f"{i}" * 40, date="2026-11-01T00:00:00Z",
                     benchmarks={"tests/b.py::test_parse": Point(value=1e-3 * (1 + i / 100), spread_pct=2)})
        for i in range(3)
    ]  # fmt: skip
    body = build_comment(comparison, GitHubContext(pr_number=1), Config(), history)
    assert "```mermaid\nxychart-beta" in body
    assert 'x-axis ["0000000", "1111111", "2222222", "this PR"]' in body
    assert "line [1, 1.01, 1.02, 1.6" in body


def test_context_from_the_environment(tmp_path):
    event = {
        "number": 12,
        "action": "labeled",
        "sender": {"login": "reviewer"},
        "repository": {"full_name": "octo/proj"},
        "pull_request": {
            "number": 12,
            "head": {"sha": "h" * 40, "repo": {"full_name": "fork/proj"}},
            "base": {"sha": "b" * 40},
            "labels": [{"name": "perf-regression-accepted"}, {"name": "docs"}],
        },
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    env = {
        "GITHUB_EVENT_PATH": str(path), "GITHUB_SHA": "m" * 40, "GITHUB_REPOSITORY": "octo/proj",
        "GITHUB_API_URL": "http://127.0.0.1:1", "GITHUB_RUN_ID": "5", "GITHUB_TOKEN": TOKEN,
    }  # fmt: skip
    ctx = GitHubContext.from_environment(env)
    assert ctx.pr_number == 12
    assert ctx.head_sha == "h" * 40  # not the merge commit
    assert ctx.is_fork
    assert ctx.labels == ("perf-regression-accepted", "docs")
    assert ctx.label_actor == "reviewer"
    assert TOKEN not in repr(ctx)
    assert GitHubContext.from_environment(env, {"pr_number": 3, "head_sha": "x"}).pr_number == 3
    pushed = GitHubContext.from_environment({"GITHUB_SHA": "m" * 40})
    assert (pushed.head_sha, pushed.pr_number) == ("m" * 40, None)


def _cli(args, env, cwd):
    return subprocess.run(
        [sys.executable, "-m", "perfgate", *args],
        capture_output=True, text=True, cwd=cwd, env={**os.environ, **env},
    )  # fmt: skip


def _report(results, tmp_path, slow=True) -> Path:
    path = tmp_path / "report.json"
    path.write_text(_comparison(results, slow=slow, names=HOSTILE[:2]).to_json())
    return path


def test_cli_publish_end_to_end_and_the_token_never_shows(github, tmp_path, results):
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"number": 7, "pull_request": {"number": 7, "head": {"sha": "d" * 40}}})
    )
    env = {
        "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": "octo/proj",
        "GITHUB_EVENT_PATH": str(event), "GITHUB_RUN_ID": "1", "GITHUB_STEP_SUMMARY": str(tmp_path / "s.md"),
    }  # fmt: skip
    report = _report(results, tmp_path)
    done = _cli(["publish", str(report)], env, tmp_path)
    assert done.returncode == 1, done.stderr  # the gate's verdict
    assert "published (check run created, comment created, job summary written)" in done.stderr
    again = _cli(["publish", "--no-verdict-exit", str(report)], env, tmp_path)
    assert again.returncode == 0, again.stderr  # a job that only publishes
    assert "comment updated" in again.stderr
    assert len(github.comments_on(7)) == 1
    github.read_only = True
    forked = _cli(["publish", str(report)], env, tmp_path)
    assert forked.returncode == 1
    assert "token cannot write" in forked.stderr
    github.read_only = False
    github.fail("PATCH", "/check-runs/", 401, times=1, message=f"Bad credentials {TOKEN}")
    broken = _cli(["publish", str(report)], env, tmp_path)
    assert broken.returncode == 1  # degrade, don't fail: the verdict stays the exit code
    assert "check run not published: updating the check run: GitHub answered 401" in broken.stderr
    assert "comment updated" in broken.stderr  # the comment still went out
    for output in (done, again, forked, broken):
        assert TOKEN not in output.stdout + output.stderr


def test_cli_dry_run_sends_nothing(tmp_path, results):
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": "http://127.0.0.1:9", "GITHUB_REPOSITORY": "o/r",
           "GITHUB_SHA": "e" * 40}  # fmt: skip
    done = _cli(
        ["publish", "--dry-run", "--pr", "5", str(_report(results, tmp_path))], env, tmp_path
    )
    assert done.returncode == 1
    assert "would create check run on o/r at eeee" in done.stdout
    assert '"conclusion": "failure"' in done.stdout
    assert "would create or update the comment on pull request #5:" in done.stdout
    assert MARKER in done.stdout
    assert TOKEN not in done.stdout + done.stderr


def test_cli_publish_bad_report_is_exit_2(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text('{"verdict": "maybe"}')
    done = _cli(["publish", str(bad)], {}, tmp_path)
    assert done.returncode == 2
    assert "not a perfgate report" in done.stderr
    assert done.stderr.count("\n") == 1


def test_cli_history_add_caps_the_file(results, tmp_path):
    from perfgate import save_results
    from perfgate.report._history import load_history

    history = tmp_path / "history.jsonl"
    for commit in "1234":
        base = tmp_path / f"base-{commit}.json"
        save_results(base, results({"a": [1e-3, 1.1e-3]}, commit=commit * 40))
        done = _cli(
            ["history", "add", str(base), "--history", str(history), "--max-entries", "3"],
            {},
            tmp_path,
        )
        assert done.returncode == 0, done.stderr
    entries = load_history(history, print)
    assert [e.commit for e in entries] == ["2" * 40, "3" * 40, "4" * 40]
    assert entries[0].benchmarks["a"].spread_pct > 0
    # Once per commit: measuring commit 4 again replaces its line, never doubles it.
    done = _cli(["history", "add", str(base), "--history", str(history)], {}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert [e.commit for e in load_history(history, print)] == ["2" * 40, "3" * 40, "4" * 40]


def _labelled_fork_pull_request(github, tmp_path, sha: str) -> dict[str, str]:
    """A fork's pull request #9 with the acceptance label, and the environment of
    the privileged workflow_run job that publishes for it."""
    github.pulls.append({"number": 9, "head_sha": sha, "labels": ["perf-regression-accepted"],
                         "head_owner": "fork", "head_ref": "fast-path", "fork": True})  # fmt: skip
    event = tmp_path / "event.json"
    event.write_text(json.dumps({
        "action": "completed",
        "repository": {"full_name": "octo/proj"},
        "workflow_run": {"head_sha": sha, "pull_requests": [], "head_branch": "fast-path",
                         "head_repository": {"full_name": "fork/proj", "owner": {"login": "fork"}}},
    }))  # fmt: skip
    return {"GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "workflow_run",
            "GITHUB_API_URL": github.url, "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "octo/proj"}  # fmt: skip


def test_workflow_run_recipe_resolves_a_fork_pull_request(github, tmp_path, results):
    """The privileged workflow's own payload names the head commit but, for forks,
    no pull request: perfgate finds it (and its labels) through the API."""
    sha = "f" * 40
    env = _labelled_fork_pull_request(github, tmp_path, sha)
    ctx = GitHubContext.from_environment(env)
    assert (ctx.head_sha, ctx.pr_number, ctx.is_fork) == (sha, None, True)
    assert (ctx.head_owner, ctx.head_branch) == ("fork", "fast-path")
    result = _publish(_comparison(results, slow=True), ctx)
    assert result.comment == "created"
    # Found by head owner and branch: GitHub's commit lookup lists nothing for a fork's commit.
    assert ("GET", "/repos/octo/proj/pulls") in [(r.method, r.path) for r in github.requests]
    (comment,) = github.comments_on(9)
    assert (
        "perfgate: pass, no regression in 2 benchmarks (2 accepted regressions)" in comment["body"]
    )
    assert ": label \\`perf-regression-accepted\\` on pull request \\#\u20609" in comment["body"]
    (check,) = github.check_runs.values()
    assert check["head_sha"] == sha
    assert check["conclusion"] == "success"


def test_workflow_run_label_acceptance_reaches_summary_check_and_exit_code(
    github, tmp_path, results
):
    """On workflow_run the pull request (and its acceptance label) is found through
    the API: the job summary, the check run and the exit code must all use the
    accepted verdict, not the one the report was written with."""
    summary = tmp_path / "s.md"
    env = _labelled_fork_pull_request(github, tmp_path, "f" * 40)
    env["GITHUB_STEP_SUMMARY"] = str(summary)
    done = _cli(["publish", str(_report(results, tmp_path))], env, tmp_path)
    assert done.returncode == 0, done.stderr
    (check,) = github.check_runs.values()
    assert check["conclusion"] == "success"
    for text in (summary.read_text(), check["output"]["summary"]):
        assert "perfgate: pass" in text
        assert "accepted: " in text
        assert "label \\`perf-regression-accepted\\`" in text


def _suite(results, changes: dict[str, float], runs: int = 10, counters=None, names=None):
    """Baseline and current results of a suite; ``changes`` maps names to a factor."""
    values = [(1.0e-3, 1.01e-3, 0.99e-3)[i % 3] for i in range(runs)]
    names = names or [f"tests/bench_core.py::test_{word}" for word in _WORDS]
    base = results(dict.fromkeys(names, values), commit="c" * 40, counters=counters)
    cur_counters = None
    if counters:
        cur_counters = {n: [v * changes.get(n, 1.0) for v in vs] for n, vs in counters.items()}
    cur = results(
        {n: [changes.get(n, 1.0) * v for v in values] for n in names},
        seed=3, commit="d" * 40, counters=cur_counters,
    )  # fmt: skip
    return base, cur


_WORDS = ("parse", "render", "tokenize", "validate", "serialize", "lookup")


def _case(results, case: str) -> Comparison:
    core = "tests/bench_core.py::test_"
    if case == "fail":
        base, cur = _suite(results, {core + "parse": 1.3, core + "render": 3.2})
    elif case == "pass":
        base, cur = _suite(results, {core + "lookup": 0.8})
    elif case == "neutral":
        names = [f"tests/bench_io.py::test_read_{i}" for i in range(13)]
        base, cur = _suite(results, {names[0]: 1.04}, runs=3, names=names)
    elif case == "first-pr":
        _, cur = _suite(results, {})
        return compare(None, cur, Config())
    elif case == "mixed":
        counters = {f"{core}{w}:instructions": [2.0e6] * 10 for w in _WORDS[:3]}
        base, cur = _suite(
            results, {core + "tokenize:instructions": 1.02, core + "lookup": 0.7}, counters=counters
        )
    else:  # "thousand"
        names = [f"tests/bench_many.py::test_case[{i:04d}]" for i in range(1000)]
        base, cur = _suite(
            results, {names[17]: 1.25, names[512]: 2.5, names[999]: 0.6}, names=names
        )
    return compare(base, cur, Config())


@pytest.mark.parametrize("case", ["fail", "pass", "neutral", "first-pr", "mixed", "thousand"])
def test_comment_goldens(results, case):
    """What a reader sees, case by case (review the goldens after a change)."""
    comparison = _case(results, case)
    ctx = GitHubContext(
        repository="o/r", pr_number=1, head_sha="a" * 40, base_sha="b" * 40, run_id="5"
    )
    body = build_comment(comparison, ctx, Config(), [])
    assert_matches_golden(body, f"comment-{case}.md")
    assert len(body) <= COMMENT_LIMIT
    expected = {"fail": "failure", "pass": "success", "mixed": "failure", "thousand": "failure"}
    assert comparison.conclusion == expected.get(case, "neutral")
    assert "make perf" not in body  # no perfgate-internal commands in users' pull requests
    assert " 0 " not in body.split("\n\n")[1]  # only non-zero counts


def test_trend_charts_cover_the_movers_not_only_regressions(results):
    """An improvement beyond the threshold gets its chart; an unchanged benchmark does not."""
    comparison = _case(results, "pass")  # test_lookup 20% faster, the rest unchanged
    names = [b.name for b in comparison.benchmarks]
    history = [
        HistoryEntry(commit=f"{i}" * 40, date="2026-11-01T00:00:00Z",
                     benchmarks={n: Point(value=1e-3, spread_pct=1) for n in names})
        for i in range(3)
    ]  # fmt: skip
    body = build_comment(comparison, GitHubContext(pr_number=1), Config(), history)
    assert body.count("```mermaid") == 1
    assert 'title "tests/bench_core.py::test_lookup"' in body


HOSTILE_TEXT = (
    '<img src="https://evil.example/x.png"> </details><details open> @octo/team #1 '
    "![pixel](https://evil.example/p.png) [click](https://evil.example) | broken | "
    "\u202eevil\u202c `code"
)


def test_a_hostile_fork_report_is_inert_in_comment_check_run_and_summary(github, tmp_path, results):
    """A fork's run writes the report file: every string in it is untrusted when
    `perfgate publish` reads it (names, units, side labels, commits, reasons)."""
    comparison = _comparison(results, slow=True).model_dump(mode="json", by_alias=True)
    comparison["baseline"]["label"] = HOSTILE_TEXT
    comparison["baseline"]["commit"] = "`<img src=x onerror=alert(1)>"
    comparison["current"]["label"] = HOSTILE_TEXT
    for bench in comparison["benchmarks"]:
        bench["unit"] = HOSTILE_TEXT
        bench["name"] = HOSTILE_TEXT + bench["name"]
        bench["reason"] = HOSTILE_TEXT
    comparison["warnings"] = [HOSTILE_TEXT]
    report = tmp_path / "untrusted.json"
    report.write_text(json.dumps(comparison))
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"number": 7, "pull_request": {"number": 7, "head": {"sha": "a" * 40}}})
    )
    summary = tmp_path / "summary.md"
    env = {
        "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": "octo/proj",
        "GITHUB_EVENT_PATH": str(event), "GITHUB_STEP_SUMMARY": str(summary),
    }  # fmt: skip
    done = _cli(["publish", str(report)], env, tmp_path)
    assert done.returncode == 1, done.stderr
    (comment,) = github.comments_on(7)
    (check,) = github.check_runs.values()
    texts = {
        "comment": comment["body"],
        "check title": check["output"]["title"],
        "check summary": check["output"]["summary"],
        "job summary": summary.read_text(encoding="utf-8"),
        "terminal": done.stdout + done.stderr,
    }
    for where, text in texts.items():
        assert "\u202e" not in text, where  # no bidi override anywhere, terminal included
        if where in ("check title", "terminal"):
            continue  # plain text: GitHub shows a check title as text, not markdown
        for raw in ("<img", "<details open", "@octo", "https://evil", "onerror=alert(1)>"):
            assert raw not in text, (where, raw)
    assert "\n" not in texts["check title"]
    for where in ("comment", "check summary", "job summary"):
        body = texts[where]
        assert body.count("<details>") == body.count("</details>"), where
        for line in body.splitlines():
            if line.startswith("| ") and not line.startswith("|:"):
                assert line.replace("\\|", "").count("|") in (4, 6, 7), (where, line[:120])


def test_a_lost_check_run_response_is_reconciled_not_doubled(github, tmp_path, results):
    """A 503 after GitHub created the check run: the retry finds and edits it."""
    github.fail("POST", r"/check-runs$", 503, times=1, after_effect=True)
    result = _publish(_comparison(results, slow=True), _ctx(github, tmp_path))
    assert result.check_run == "created"
    assert len(github.check_runs) == 1


def test_two_publishes_that_raced_leave_one_comment(github, tmp_path, results):
    """Both listed, found nothing, and created: the next publish keeps the oldest."""
    first = github.add_comment(7, f"{MARKER}\nrace one", login="github-actions[bot]")
    github.add_comment(7, f"{MARKER}\nrace two", login="github-actions[bot]")
    github.add_comment(7, "an ordinary comment", login="github-actions[bot]")
    result = _publish(_comparison(results, slow=True), _ctx(github, tmp_path))
    assert result.comment == "updated"
    ours = [c for c in github.comments_on(7) if MARKER in c["body"]]
    assert [c["id"] for c in ours] == [first]
    assert len(github.comments_on(7)) == 2  # the ordinary comment is untouched


@pytest.mark.parametrize(
    "garble",
    [
        lambda d: d[: len(d) // 2],
        lambda d: b"<html>502 Bad Gateway</html>",
        lambda d: b'{"id": "x"}',
    ],
    ids=["cut", "html", "wrong-shape"],
)
def test_a_malformed_github_reply_degrades_and_the_verdict_stands(
    github, tmp_path, garble, results
):
    github.garble = garble
    result = _publish(_comparison(results, slow=False, runs=10), _ctx(github, tmp_path))
    assert result.summary_written
    assert result.comparison.verdict == Verdict.PASS
    assert all(
        "not published" in m or "cannot write" in m or "could not" in m for m in result.messages
    )
