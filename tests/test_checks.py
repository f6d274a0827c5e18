"""`training.checks.check_file`, `framing data check` and `corpus_report` on small CSVs.

Every test writes its own file. GOOD holds four rows per split so that every label of the
default config occurs in every split; a test appends its bad row(s) after them, so the
first appended row starts on line 14 (header on line 1, GOOD on lines 2-13).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from framing.cli.main import app
from framing.training.checks import check_file, find_near_duplicates
from framing.training.config import Config, load_config
from framing.training.report import REPORT_COMMAND, corpus_report

ROOT = Path(__file__).parents[1]
CONFIG = ROOT / "configs" / "default.yaml"
HEADER = ["id", "text", "frames", "stance", "split"]
# (text, frames, stance, split): one row per frame, plus a frameless one, in each split.
GOOD = [
    (
        "Putin said NATO's eastward expansion had left Russia no choice but to act.",
        "security_threat",
        "pro_russia",
        "train",
    ),
    (
        "Kyiv said the referendums staged in occupied towns had no legal force at all.",
        "legitimacy_challenge",
        "pro_ukraine",
        "train",
    ),
    (
        "Envoys from both countries agreed to meet again in Istanbul next week.",
        "diplomatic_opening",
        "neutral",
        "train",
    ),
    ("The central bank left its key interest rate unchanged on Friday.", "", "neutral", "train"),
    (
        "Moscow warned that Western missiles on Ukrainian soil would make NATO a party to the war.",
        "security_threat",
        "pro_russia",
        "dev",
    ),
    (
        "Zelenskyy said the annexation of Crimea would never be recognised by the world.",
        "legitimacy_challenge",
        "pro_ukraine",
        "dev",
    ),
    (
        "Mediators from Qatar arranged the return of a dozen children to their families.",
        "diplomatic_opening",
        "neutral",
        "dev",
    ),
    ("The parliament session was postponed until after the holiday weekend.", "", "neutral", "dev"),
    (
        "The defence ministry said Ukrainian shelling of Donetsk endangered thousands of residents.",
        "security_threat",
        "pro_russia",
        "test",
    ),
    (
        "European leaders said the sham election in Crimea could not confer any mandate.",
        "legitimacy_challenge",
        "pro_ukraine",
        "test",
    ),
    (
        "Zelensky and Putin's envoys discussed a possible energy truce by phone.",
        "diplomatic_opening",
        "neutral",
        "test",
    ),
    ("Grain shipments from Black Sea ports rose slightly in March.", "", "neutral", "test"),
]
FIRST_EXTRA = len(GOOD) + 2  # line of the first row appended after GOOD


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(CONFIG)


def write(
    path: Path,
    rows: list[tuple[str, ...]],
    header: list[str] = HEADER,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        for i, row in enumerate(rows):
            w.writerow([f"r{i}", *row])
    return path


def only_problem(result):
    assert len(result.problems) == 1, [str(p) for p in result.problems]
    return result.problems[0]


def test_good_file_passes(tmp_path, config):
    result = check_file(write(tmp_path / "good.csv", GOOD), config)
    assert result.ok, [str(p) for p in result.problems]
    assert len(result.examples) == len(GOOD)
    assert [e.line for e in result.examples] == list(range(2, len(GOOD) + 2))
    assert result.examples[0].labels == {"frames": ["security_threat"], "stance": ["pro_russia"]}
    assert result.examples[3].labels["frames"] == []


def test_utf8_bom_passes(tmp_path, config):
    path = write(tmp_path / "bom.csv", GOOD, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = check_file(path, config)
    assert result.ok, [str(p) for p in result.problems]
    assert len(result.examples) == len(GOOD)
    assert result.examples[0].line == 2


def test_quoted_newline_passes_and_shifts_later_line_numbers(tmp_path, config):
    rows = list(GOOD)
    text, frames, stance, split = rows[1]
    rows[1] = (text.replace(" had no ", " had\nno "), frames, stance, split)
    path = write(tmp_path / "newline.csv", rows)
    result = check_file(path, config)
    assert result.ok, [str(p) for p in result.problems]
    assert "\n" in result.examples[1].text
    # Row 1 starts on line 3 and ends on line 4, so row 2 starts on line 5.
    assert [e.line for e in result.examples[:3]] == [2, 3, 5]

    bad = ("Officials counted the damaged buildings after the storm.", "", "angry", "train")
    result = check_file(write(path, [*rows, bad]), config)
    problem = only_problem(result)
    assert problem.line == FIRST_EXTRA + 1  # one embedded newline above it
    assert problem.field == "stance"
    assert problem.value == "angry"


def test_semicolon_delimiter_reports_missing_columns_with_hint(tmp_path, config):
    result = check_file(write(tmp_path / "semi.csv", GOOD, delimiter=";"), config)
    problem = only_problem(result)
    assert problem.line == 1
    assert problem.field is None
    assert "missing column(s) ['text', 'frames', 'stance']" in problem.message
    assert "is the file comma-separated?" in problem.message
    assert str(problem).startswith(f"{tmp_path / 'semi.csv'}:1: ")


def test_unknown_label(tmp_path, config):
    bad = (
        "Air raid sirens sounded across the capital for three hours.",
        "security_threats",
        "pro_ukraine",
        "train",
    )
    result = check_file(write(tmp_path / "unknown.csv", [*GOOD, bad]), config)
    problem = only_problem(result)
    assert problem.line == FIRST_EXTRA
    assert problem.field == "frames"
    assert problem.value == "security_threats"
    assert "unknown label(s) ['security_threats']" in problem.message


def test_single_label_column_with_two_labels(tmp_path, config):
    bad = ("Analysts disagreed about what the new decree would change.", "", "pro_russia;neutral", "dev")
    result = check_file(write(tmp_path / "two.csv", [*GOOD, bad]), config)
    problem = only_problem(result)
    assert problem.line == FIRST_EXTRA
    assert problem.field == "stance"
    assert problem.value == "pro_russia;neutral"
    assert "needs exactly one label but holds 2 labels" in problem.message


def test_missing_column(tmp_path, config):
    rows = [(text, frames, split) for text, frames, _, split in GOOD]
    path = write(tmp_path / "nostance.csv", rows, header=["id", "text", "frames", "split"])
    problem = only_problem(check_file(path, config))
    assert problem.line == 1
    assert problem.field is None
    assert "missing column(s) ['stance']" in problem.message
    assert "comma-separated" not in problem.message


def test_empty_file(tmp_path, config):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    problem = only_problem(check_file(path, config))
    assert problem.line is None
    assert problem.field is None
    assert "file is empty" in problem.message


def test_header_only(tmp_path, config):
    problem = only_problem(check_file(write(tmp_path / "header.csv", []), config))
    assert problem.line is None
    assert problem.field is None
    assert "no data rows below the header" in problem.message


def test_non_utf8_names_the_line(tmp_path, config):
    path = write(tmp_path / "latin1.csv", GOOD[:2])
    with path.open("ab") as fh:  # line 4: "Kyïv" in latin-1
        fh.write(
            "r2,Drones were shot down near Kyïv overnight.,security_threat,pro_ukraine,train\n".encode(
                "latin-1"
            )
        )
    problem = only_problem(check_file(path, config))
    assert problem.line == 4
    assert problem.field is None
    assert "not UTF-8" in problem.message
    assert problem.value is not None and problem.value.startswith("ef")
    assert str(problem).startswith(f"{path}:4: not UTF-8")


def test_empty_text(tmp_path, config):
    bad = ("   ", "", "neutral", "train")
    result = check_file(write(tmp_path / "emptytext.csv", [*GOOD, bad]), config)
    problem = only_problem(result)
    assert problem.line == FIRST_EXTRA
    assert problem.field == "text"
    assert problem.message == "empty text"


def test_exact_duplicate_names_both_lines(tmp_path, config):
    dup = GOOD[0]
    result = check_file(write(tmp_path / "dup.csv", [*GOOD, dup]), config)
    problem = only_problem(result)
    assert problem.line == FIRST_EXTRA
    assert problem.field is None
    assert problem.message == "duplicate of line 2"


def test_near_duplicate_names_both_lines(tmp_path, config):
    text = GOOD[4][0].replace("the war.", "the conflict.")
    ((_, _, jaccard),) = find_near_duplicates([GOOD[4][0], text])
    assert 0.6 <= jaccard < 1.0
    bad = (text, "security_threat", "pro_russia", "train")
    result = check_file(write(tmp_path / "near.csv", [*GOOD, bad]), config)
    problem = only_problem(result)
    assert problem.line == FIRST_EXTRA
    assert problem.field is None
    assert problem.message == f"near-duplicate (3-gram Jaccard {jaccard:.2f}) of line 6"
    # Below the threshold nothing is reported.
    assert not find_near_duplicates([GOOD[4][0], "NATO would be a party to the war, Moscow said."])


def test_invalid_split(tmp_path, config):
    bad = ("Rescue teams searched the rubble through the night.", "", "neutral", "validation")
    result = check_file(write(tmp_path / "split.csv", [*GOOD, bad]), config)
    problem = only_problem(result)
    assert problem.line == FIRST_EXTRA
    assert problem.field == "split"
    assert problem.value == "validation"
    assert "split must be one of ['train', 'dev', 'test']" in problem.message


def test_split_without_some_label(tmp_path, config):
    rows = list(GOOD)
    rows[10] = (rows[10][0], "", "neutral", "test")  # the test split's only diplomatic_opening
    problem = only_problem(check_file(write(tmp_path / "coverage.csv", rows), config))
    assert problem.line is None
    assert problem.field == "frames"
    assert problem.value == "diplomatic_opening"
    assert problem.message == "split 'test' has no example of label 'diplomatic_opening'"


def test_split_coverage_is_per_head(tmp_path):
    """Two heads with the same label names: each head needs each label in each split."""
    cfg = tmp_path / "yesno.yaml"
    cfg.write_text(
        "heads:\n"
        "  - {name: sarcastic, type: single_label, labels: ['yes', 'no']}\n"
        "  - {name: hedged, type: single_label, labels: ['yes', 'no']}\n"
        "model: {base: unused}\n",
        encoding="utf-8",
    )
    rows = [(text, "yes" if i % 2 else "no", "no", split) for i, (text, _, _, split) in enumerate(GOOD)]
    path = write(tmp_path / "yesno.csv", rows, header=["id", "text", "sarcastic", "hedged", "split"])
    result = check_file(path, load_config(cfg))
    assert [(p.field, p.value, p.message) for p in result.problems] == [
        ("hedged", "yes", f"split {s!r} has no example of label 'yes'") for s in ("train", "dev", "test")
    ]


def test_all_problems_reported_in_one_run(tmp_path, config):
    bad = [
        ("Sirens sounded in Lviv before dawn on Sunday.", "threat", "pro_ukraine", "train"),
        ("", "", "neutral", "dev"),
        ("Negotiators left the hotel without speaking to reporters.", "", "neutral", "holdout"),
    ]
    result = check_file(write(tmp_path / "three.csv", [*GOOD, *bad]), config)
    assert [(p.line, p.field) for p in result.problems] == [
        (FIRST_EXTRA, "frames"),
        (FIRST_EXTRA + 1, "text"),
        (FIRST_EXTRA + 2, "split"),
    ]
    assert len(result.examples) == len(GOOD)


def test_cli_check_bad_file_exits_1_and_lists_problems(tmp_path):
    bad = ("Sirens sounded in Lviv before dawn on Sunday.", "threat", "pro_ukraine", "train")
    path = write(tmp_path / "bad.csv", [*GOOD, bad])
    result = CliRunner().invoke(app, ["data", "check", str(path), "--config", str(CONFIG)])
    assert result.exit_code == 1, result.output
    assert f"{path}: 1 problem(s)" in result.output
    assert f"{path}:{FIRST_EXTRA} [frames]: unknown label(s) ['threat']" in result.output


def test_cli_check_good_file_prints_counts(tmp_path):
    path = write(tmp_path / "good.csv", GOOD)
    result = CliRunner().invoke(app, ["data", "check", str(path), "--config", str(CONFIG)])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()]
    assert [f"{path}:", "OK,", str(len(GOOD)), "rows"] in lines
    assert ["frames:", "dev", "test", "train", "all"] in lines
    assert ["stance:", "dev", "test", "train", "all"] in lines
    for label in (
        "security_threat",
        "legitimacy_challenge",
        "diplomatic_opening",
        "(none)",
        "pro_russia",
        "pro_ukraine",
    ):
        assert [label, "1", "1", "1", "3"] in lines
    assert ["neutral", "2", "2", "2", "6"] in lines


def test_corpus_report(tmp_path, config):
    path = write(tmp_path / "good.csv", GOOD)
    actors = tmp_path / "actors.txt"
    actors.write_text(
        "# test actors\n\n"
        "Volodymyr Zelensky|Zelensky|Zelenskyy\n"
        "Vladimir Putin|Putin  # inline comment\n"
        "NATO\n"
        "Russia|Russian Federation\n"
        "European Union|EU\n"
        "Narnia\n",
        encoding="utf-8",
    )
    report = corpus_report(path, config, actors)
    lines = report.splitlines()
    assert lines[0].startswith("# ")
    assert REPORT_COMMAND in lines[2]
    assert "| train | 4 | 33.3% |" in lines
    assert "| all | 12 | 100% |" in lines
    assert "| label | train | dev | test | all |" in lines
    assert "| `security_threat` | 1 | 1 | 1 | 3 |" in lines
    assert "| `(none)` | 1 | 1 | 1 | 3 |" in lines
    assert "| `neutral` | 2 | 2 | 2 | 6 |" in lines
    assert "| no label | 1 | 1 | 1 | 3 |" in lines
    assert "| two or more labels | 0 | 0 | 0 | 0 |" in lines
    # stance by frames: every diplomatic_opening row is neutral.
    assert "| `diplomatic_opening` | 0 | 0 | 3 | 3 |" in lines
    # Word counts: 10 (twice) to 16.
    assert "| min | p10 | median | mean | p90 | max |" in lines
    assert "| 10 | 10.1 | 12.5 | 12.3 | 13.9 | 16 |" in lines
    assert "| 1–10 | 2 |" in lines and "| 11–20 | 10 |" in lines
    # Aliases pool (Zelensky + Zelenskyy, "Putin's"); "Russian"/"Ukrainian" are not "Russia".
    assert "4 of the 6 actors listed" in report
    assert "| Volodymyr Zelensky | 2 | 16.7% |" in lines
    assert "| Vladimir Putin | 2 | 16.7% |" in lines
    assert "| NATO | 2 | 16.7% |" in lines
    assert "| Russia | 1 | 8.3% |" in lines
    assert "Narnia" not in report and "European Union" not in report


def test_corpus_report_counts_hard_negatives(tmp_path, config):
    rows = [
        ("NATO defence ministers met in Brussels to discuss ammunition budgets.", "", "neutral", "train"),
        ("The court adjourned the hearing on grain exports until Friday.", "", "neutral", "train"),
        (
            "NATO warned the drills near its border were a rehearsal for attack.",
            "security_threat",
            "pro_ukraine",
            "train",
        ),
    ]
    path = write(tmp_path / "c.csv", rows)
    terms = tmp_path / "terms.yaml"
    terms.write_text(
        "head: frames\nterms:\n  security_threat: [NATO]\n  legitimacy_challenge: [court]\n"
        "  diplomatic_opening: ['met ']\n",
        encoding="utf-8",
    )
    lines = corpus_report(path, config, None, hard_terms=terms).splitlines()
    # Two NATO rows, one without the frame; the court row and the meeting row lack theirs.
    assert "| `security_threat` | 2 | 1 |" in lines
    assert "| `legitimacy_challenge` | 1 | 1 |" in lines
    assert "| `diplomatic_opening` | 1 | 1 |" in lines
    summary = "2 rows are a hard negative for at least one label; 2 of them carry no `frames` label at all."
    assert summary in lines


def test_hard_terms_must_name_the_configs_labels(tmp_path, config):
    path = write(tmp_path / "c.csv", GOOD)
    terms = tmp_path / "terms.yaml"
    terms.write_text("head: frames\nterms:\n  economic_pressure: [tariff]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="economic_pressure"):
        corpus_report(path, config, None, hard_terms=terms)
    terms.write_text("head: stance\nterms:\n  neutral: [said]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a multi-label head"):
        corpus_report(path, config, None, hard_terms=terms)
