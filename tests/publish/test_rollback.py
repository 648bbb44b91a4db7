"""publish/_rollback.py: one issue per commit, found again by its marker, never
doubled; closed issues and accepted slowdowns left alone; a revert pull request
when asked; every untrusted text escaped (against the loopback GitHub)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from github import Auth, Github

from perfgate import Config
from perfgate.history._ledger import SteppedBenchmark, StepRecord
from perfgate.publish._github import GitHubClient
from perfgate.publish._github_context import GitHubContext
from perfgate.publish._rollback import marker, propose, rollback_body
from tests.conftest import assert_matches_golden
from tests.github_server import FakeGitHub

CULPRIT = "c" * 40


def _record(**changes) -> StepRecord:
    values = {
        "found_at": "f" * 40, "date": datetime(2026, 12, 1, tzinfo=UTC), "span": ["d" * 40],
        "good": "a" * 40, "culprit": CULPRIT, "parent": "b" * 40,
        "subject": "Speed up @octo/team's parser, see #12 and https://evil.example <b>now</b>",
        "slower": True, "confirmed": True, "mode": "instructions",
        "benchmarks": [
            SteppedBenchmark(name="tests/b.py::test_parse:instructions", unit="instructions",
                             before=1e6, after=1.031e6, ratio=1.031, ratio_low=1.0305,
                             ratio_high=1.0315, confirm_ratio=1.0312),
            SteppedBenchmark(name="tests/b.py::test_[x|y]@dev", unit="s", before=1e-3,
                             after=1.2e-3, ratio=1.2, ratio_low=1.1, ratio_high=1.3),
        ],
        "evidence": [f"evidence/{CULPRIT}/confirm-{CULPRIT[:12]}.json"],
    }  # fmt: skip
    return StepRecord.model_validate({**values, **changes})


def _client(fake: FakeGitHub, config: Config) -> GitHubClient:
    ctx = GitHubContext(repository="octo/proj", api_url=fake.url, token="ghs_x")
    client = Github(auth=Auth.Token("ghs_x"), base_url=fake.url, retry=None, lazy=True,
                    seconds_between_requests=None, seconds_between_writes=None)  # fmt: skip
    return GitHubClient(client, ctx, config, sleep=lambda _: None)


def _body(config: Config):
    def body(record: StepRecord, _pull: int | None) -> str:
        return rollback_body(
            record, config, server_url="https://github.example", repository="octo/proj",
            data_branch="perfgate-data", run_url="https://github.example/octo/proj/actions/runs/5",
        )  # fmt: skip

    return body


def _propose(fake: FakeGitHub, config: Config, records, **kwargs) -> tuple[dict[str, str], list]:
    said: list[str] = []
    done = propose(records, _client(fake, config), config, body=_body(config), say=said.append,
                   **kwargs)  # fmt: skip
    return done, said


def test_one_issue_per_commit_created_then_updated(github):
    config = Config()
    done, _ = _propose(github, config, [_record()])
    (issue,) = github.issues.values()
    assert done == {CULPRIT: f"issue #{issue['number']}"}
    assert issue["labels"] == ["perf-regression"]
    assert marker(CULPRIT) in issue["body"]
    assert f"git revert {CULPRIT}" in issue["body"]
    assert issue["title"].startswith(f"Performance: {CULPRIT[:10]} made tests/b.py::test_")
    done, said = _propose(github, config, [_record(), _record()])  # found again by its marker
    assert len(github.issues) == 1
    assert said == [f"rollback issue #{issue['number']} for {CULPRIT[:12]}: updated"]


def test_a_closed_issue_is_a_decision_left_alone(github):
    number = github.add_issue("old", marker(CULPRIT), ["perf-regression"], state="closed")
    done, _ = _propose(github, Config(), [_record()])
    assert done == {CULPRIT: f"issue #{number} (closed: left alone)"}
    assert github.issues[number]["body"] == marker(CULPRIT)
    assert len(github.issues) == 1


def test_accepted_in_the_config_or_by_the_pull_requests_label_is_not_proposed(github):
    config = Config.model_validate({"accepted": [
        {"match": "tests/b.py::*", "reason": "the new parser is worth it", "expires": date(2999, 1, 1)}
    ]})  # fmt: skip
    done, _ = _propose(github, config, [_record()])
    assert done == {CULPRIT: "accepted: the new parser is worth it"}
    github.pulls.append({"number": 9, "head_sha": CULPRIT, "labels": ["perf-regression-accepted"]})
    done, _ = _propose(github, Config(), [_record()])
    assert done == {CULPRIT: "accepted: label perf-regression-accepted on pull request #9"}
    assert github.issues == {}


def test_unconfirmed_or_already_proposed_records_are_skipped(github):
    done, _ = _propose(github, Config(), [_record(confirmed=False), _record(proposal="issue #3")])
    assert done == {}
    assert github.issues == {}


def test_a_revert_pull_request_when_asked_and_an_issue_when_the_revert_conflicts(github):
    config = Config(rollback="pull-request")
    done, _ = _propose(github, config, [_record()], revert=lambda r: "perfgate/revert-x",
                       base_branch="main")  # fmt: skip
    (pull,) = github.opened_pulls
    assert (pull["head"], pull["base"]) == ("perfgate/revert-x", "main")
    assert done == {CULPRIT: f"pull request #{pull['number']}"}
    assert marker(CULPRIT) in pull["body"]
    done, said = _propose(github, config, [_record()], revert=lambda r: None, base_branch="main")
    assert len(github.issues) == 1
    assert "does not apply cleanly" in said[0]


def test_the_issue_escapes_everything_from_the_repository(github):
    body = _body(Config())(_record(), None)
    assert "@octo" not in body  # no ping
    assert "#12" not in body  # no cross-reference
    assert "https://evil.example" not in body  # no link
    assert "<b>" not in body
    assert "test\\_\\[x\\|y\\]@\u2060dev" in body  # the table survives the pipe


def test_golden():
    body = _body(Config())(_record(), None)
    assert_matches_golden(body, "rollback.md")


def test_the_ledger_rejects_what_is_not_a_record():
    from perfgate.history._ledger import parse_ledger

    warned: list[str] = []
    good = _record().model_dump_json()
    records = parse_ledger(
        "\n".join([good, "{}", "not json", good.replace(CULPRIT, "x")]), warned.append
    )
    assert len(records) == 1
    assert len(warned) == 3
    assert records[0].pending
    assert records[0].covers("tests/b.py::test_parse:instructions", ["d" * 40, "e" * 40])
    assert not records[0].covers("tests/b.py::test_parse:instructions", ["e" * 40])


def test_a_lost_create_response_is_not_doubled(github):
    github.fail("POST", r"/issues$", 502, after_effect=True)
    done, said = _propose(github, Config(), [_record()])
    assert len(github.issues) == 1
    assert said[-1].endswith("created")
    assert list(done) == [CULPRIT]


def test_a_failure_on_one_commit_leaves_it_for_the_next_push_and_goes_on(github):
    github.fail("POST", r"/issues$", 422, times=1)
    other = "e" * 40
    done, said = _propose(github, Config(), [_record(), _record(culprit=other)])
    assert list(done) == [other]
    assert "not proposed" in said[0]
    assert len(github.issues) == 1
