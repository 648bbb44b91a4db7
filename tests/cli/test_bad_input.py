"""Bad input of every reader is one line and exit 2, never a traceback or exit 1
(the classes a probe of the landed code found crashing, issue 14)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from perfgate import save_results
from perfgate.capture._records import PACKED_ENCODING
from perfgate.cli._main import main


@pytest.fixture
def files(tmp_path, results) -> dict[str, Path]:
    good = tmp_path / "good.json"
    save_results(good, results({"x": [1e-3, 1.01e-3]}))
    return {"good": good}


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


CASES = {
    "config not UTF-8": ("config", b'[tool.perfgate]\nthreshold_pct = "\xff"\n'),
    "config nested 100,000 deep": (
        "config",
        b"[tool.perfgate]\nx = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    ),
    "config not a table": ("config", b"[tool]\nperfgate = 3\n"),
    "results nested 100,000 deep": ("results", b"[" * 100_000 + b"]" * 100_000),
    "results not UTF-8": ("results", b'{"schema": "\xff"}'),
    "samples_packed of the wrong type": ("results", None),
    "a ratio of 1e-300 to 1e300": ("results", None),
    "string samples": ("results", None),
}


def _results_case(name: str, good: Path) -> bytes:
    data = json.loads(good.read_text())
    bench = data["runs"][0]["benchmarks"][0]
    if name == "samples_packed of the wrong type":
        bench.pop("samples", None)
        bench["samples_packed"] = 12345
    elif name == "a ratio of 1e-300 to 1e300":
        bench["samples"] = [1e300, 1e300]
    else:
        bench["samples"] = ["0.1", True]
    return json.dumps(data).encode()


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_exit_2_in_one_line(case, files, tmp_path, capsys):
    kind, data = CASES[case]
    args = ["compare", str(files["good"])]
    if kind == "config":
        config = _write(tmp_path, "pyproject.toml", data)
        args = ["--config", str(config), *args, str(files["good"])]
    else:
        data = data if data is not None else _results_case(case, files["good"])
        args.append(str(_write(tmp_path, "bad.json", data)))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("perfgate: error: ")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_devices_and_fifos_are_refused_not_read(files, tmp_path, capsys):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        assert main(["compare", str(path), str(files["good"])]) == 2
        assert "not a regular file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "event",
    [
        {"pull_request": {"number": "7", "head": {"sha": 5}, "labels": "x"}, "number": [1]},
        {"pull_request": {"labels": 5, "number": True}, "workflow_run": {"pull_requests": "x"}},
        "[" * 100_000 + "]" * 100_000,
        b"\xff\xfe",
    ],
)
def test_wrongly_typed_or_broken_event_files(event, files, tmp_path, monkeypatch, capsys):
    report = tmp_path / "report.json"
    assert main(["compare", str(files["good"]), str(files["good"]), "--format", "json",
                 "-o", str(report)]) == 0  # fmt: skip
    raw = (
        event
        if isinstance(event, bytes)
        else (event if isinstance(event, str) else json.dumps(event)).encode()
    )
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(_write(tmp_path, "event.json", raw)))
    capsys.readouterr()
    code = main(["publish", "--dry-run", str(report)])
    err = capsys.readouterr().err
    assert code in (0, 2), err  # a wrongly typed field counts as absent; broken JSON is input
    assert "Traceback" not in err
    assert "internal error" not in err


def test_an_undecodable_history_line_is_skipped_with_a_warning(files, tmp_path, capsys):
    history = _write(tmp_path, "history.jsonl", b"\xff\xfe\n")
    assert main(["history", "add", str(files["good"]), "--history", str(history)]) == 0
    assert "skipped a bad line" in capsys.readouterr().err


def test_a_key_with_a_newline_still_gives_a_one_line_message(files, tmp_path, capsys):
    """Found by make fuzz: a fuzzed key holding a newline split the message."""
    data = json.loads(files["good"].read_text())
    data["environment"]["bad\nkey"] = 1
    bad = _write(tmp_path, "bad.json", json.dumps(data).encode())
    from perfgate import InputError, load_results

    with pytest.raises(InputError) as caught:
        load_results(bad)
    assert "\n" not in str(caught.value)
    assert main(["compare", str(files["good"]), str(bad)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def _bomb(good: Path, blobs: int, count: int) -> bytes:
    """A results file whose packed samples are zeros that inflate ~1000 times."""
    import base64
    import zlib

    data = json.loads(good.read_text())
    template = data["runs"][0]["benchmarks"][0]
    deflate, chunk = zlib.compressobj(9), b"\0" * 2**23
    parts = [deflate.compress(chunk) for _ in range(8 * count // len(chunk))]
    parts += [deflate.compress(b"\0" * (8 * count % len(chunk))), deflate.flush()]
    packed = base64.b64encode(b"".join(parts)).decode()
    benches = []
    for index in range(blobs):
        bench = {k: v for k, v in template.items() if k not in ("samples", "samples_packed")}
        bench["name"] = f"bomb{index}"
        bench["samples_packed"] = {
            "encoding": PACKED_ENCODING,
            "count": count,
            "data": packed,
        }
        benches.append(bench)
    data["runs"][0]["benchmarks"] = benches
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("blobs", "count"),
    [(1, 134_217_728), (20, 8_000_000)],  # 1 GiB in one blob; 1.3 GB in twenty
    ids=["one-gib-blob", "twenty-64mb-blobs"],
)
def test_a_decompression_bomb_is_refused_with_bounded_memory(files, tmp_path, blobs, count):
    """Issue 19: a 1.36 MB file inflated to 3.5 GB. Now each blob inflates no
    further than its declared count (at most 10 million values) and the file's
    blobs together no further than 64 MiB + 16 times its size."""
    import subprocess
    import sys

    bomb = _write(tmp_path, "bomb.json", _bomb(files["good"], blobs, count))
    assert bomb.stat().st_size < 2_000_000
    # The child reports its own peak (RUSAGE_CHILDREN would count this process's
    # memory too, which a forked child starts with).
    measure = (
        "import resource, sys; from perfgate.cli._main import main; code = main(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", measure, "compare", str(files["good"]), str(bomb)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert "samples_packed" in done.stderr
    peak_mb = int(done.stdout.split()[-1]) / 1024
    assert peak_mb < 300, f"peak RSS {peak_mb:.0f} MB"


def _report(good: Path, tmp_path: Path, capsys) -> dict:
    assert main(["compare", str(good), str(good), "--format", "json", "--output",
                 str(tmp_path / "r.json")]) == 0  # fmt: skip
    capsys.readouterr()
    return json.loads((tmp_path / "r.json").read_text())


@pytest.mark.parametrize(
    "change",
    ["negative value", "1e308 ratio", "p above 1", "too many benchmarks", "nan threshold"],
)
def test_publish_refuses_a_report_with_nonsense_values(change, files, tmp_path, capsys):
    report = _report(files["good"], tmp_path, capsys)
    bench = report["benchmarks"][0]
    if change == "negative value":
        bench["baseline_value"] = -1.0
    elif change == "1e308 ratio":
        bench["ratio"] = 1e308
    elif change == "p above 1":
        bench["p_value"] = 3.0
    elif change == "too many benchmarks":
        report["benchmarks"] = [dict(bench, name=f"b{i}") for i in range(50_001)]
    else:
        report["threshold_pct"] = "NaN"
    path = _write(tmp_path, "bad-report.json", json.dumps(report).encode())
    assert main(["publish", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "not a perfgate report" in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_publish_reads_reports_through_the_bounded_reader(tmp_path, capsys):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        assert main(["publish", str(path), "--dry-run"]) == 2
        err = capsys.readouterr().err
        assert "not a regular file" in err
        assert err.count("\n") == 1
