"""`framing trends`: hand-computed aggregation, dates, groups, custom schemas, outputs, the
page's JavaScript aggregation (under node) against Python's, and Parquet in `framing score`."""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from framing.cli.main import app
from framing.model.trends import (
    Aggregator,
    Head,
    ScoredDoc,
    TrendsError,
    TrendsOptions,
    compute_trends,
    parse_balance,
    parse_date,
    period_of,
    wilson,
)

ROOT = Path(__file__).resolve().parents[1]
TRENDS_JS = ROOT / "service" / "static" / "trends.js"
FRAMES = ["security_threat", "legitimacy_challenge", "diplomatic_opening"]
STANCES = ["pro_russia", "pro_ukraine", "neutral"]
UTC = ZoneInfo("UTC")


def sentence(index: int, frames: list[str], stance: str, p: float = 0.9, text: str = "") -> dict:
    """A content sentence as `framing score` writes it: frames carried score p, others 0.1."""
    return {
        "index": index,
        "start": index * 100,
        "end": index * 100 + 50,
        "text": text or f"sentence {index}",
        "labels": {"frames": frames, "stance": stance},
        "scores": {
            "frames": {f: (p if f in frames else 0.1) for f in FRAMES},
            "stance": {s: (0.8 if s == stance else 0.1) for s in STANCES},
        },
        "truncated": False,
        "content": True,
        "furniture": None,
    }


def furniture(index: int) -> dict:
    return {
        "index": index,
        "start": index * 100,
        "end": index * 100 + 20,
        "text": "Share this article",
        "labels": {"frames": [], "stance": None},
        "scores": {},
        "truncated": False,
        "content": False,
        "furniture": "share",
    }


def doc(id_: str, outlet: str | None, published: str | None, sentences: list[dict]) -> dict:
    rec: dict = {"id": id_}
    if outlet is not None:
        rec["outlet"] = outlet
    if published is not None:
        rec["published"] = published
    return {**rec, "summary": {}, "sentences": sentences, "model": {"name": "tiny", "version": "x"}}


# Outlet "Kyiv Ledger": week 2025-W10 has two documents with 4 content sentences (and one line
# of furniture); 2025-W11 has none; 2025-W12 has one document of furniture only.
# "Московский вестник": 2025-W11, two sentences; one unparseable and one missing date.
# "Empty Wire": one document whose sentences are all furniture. One error record.
HAND = [
    doc(
        "a1",
        "Kyiv Ledger",
        "2025-03-04",
        [
            sentence(0, ["security_threat"], "pro_russia", 0.9, "Missiles hit Kharkiv."),
            sentence(1, ["security_threat", "diplomatic_opening"], "pro_ukraine", 0.7),
            furniture(2),
            sentence(3, [], "pro_russia"),
        ],
    ),
    # 23:30 at UTC-5 on Friday 7 March is Saturday 8 March in UTC: still 2025-W10.
    doc(
        "a2",
        "Kyiv Ledger",
        "Fri, 07 Mar 2025 23:30:00 -0500",
        [sentence(0, ["legitimacy_challenge"], "neutral")],
    ),
    doc("a3", "Kyiv Ledger", "March 18, 2025", [furniture(0), furniture(1)]),
    doc(
        "b1",
        "Московский вестник",
        "2025-03-12T10:00:00+03:00",
        [
            sentence(0, ["security_threat"], "pro_russia", 0.9),
            sentence(1, ["security_threat"], "pro_russia", 0.9),
        ],
    ),
    doc("b2", "Московский вестник", "sometime last spring", [sentence(0, [], "neutral")]),
    doc("b3", "Московский вестник", None, [sentence(0, [], "neutral")]),
    doc("c1", "Empty Wire", "2025-03-05", [furniture(0)]),
    {"id": "e1", "error": "empty document: no text", "source": "in.jsonl", "line": 8},
]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def row(trends, group, period, label, head=None):
    (r,) = [
        r
        for r in trends.rows
        if r["group"] == group
        and r["period"] == period
        and r["label"] == label
        and (head is None or r["head"] == head)
    ]
    return r


# -- statistics and dates --------------------------------------------------------------
def test_wilson_against_hand_computed_values():
    # (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.96, worked by hand.
    assert wilson(3, 10) == pytest.approx((0.10779, 0.60322), abs=1e-5)
    assert wilson(2, 4) == pytest.approx((0.15004, 0.84996), abs=1e-5)
    assert wilson(1, 4) == pytest.approx((0.04559, 0.69936), abs=1e-5)
    assert wilson(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-5)
    assert wilson(2, 2)[1] == 1.0 and wilson(0, 4)[0] == 0.0
    assert wilson(0, 0) == (None, None)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2025-03-04", dt.date(2025, 3, 4)),
        ("2025-03-04T23:30:00Z", dt.date(2025, 3, 4)),
        ("2025-03-04T23:30:00-05:00", dt.date(2025, 3, 5)),
        ("Tue, 04 Mar 2025 23:30:00 -0500", dt.date(2025, 3, 5)),
        ("4 March 2025 00:30 CET", dt.date(2025, 3, 3)),
        ("March 4, 2025", dt.date(2025, 3, 4)),
        ("Mar 4, 2025 at 10:00 pm EST", dt.date(2025, 3, 5)),
        ("Tuesday", None),  # no year, month, day: would be read as a day of this week
        ("March 2025", None),  # no day
        ("2025-02-30", None),
        ("2025-03-04 10:00 XYZ", None),  # unknown zone
        ("garbage", None),
        ("", None),
        (None, None),
        (1741046400, None),
    ],
)
def test_parse_date(value, expected):
    assert parse_date(value, UTC) == expected


def test_dates_in_another_zone_and_dayfirst():
    kyiv = ZoneInfo("Europe/Kyiv")
    assert parse_date("2025-03-04T23:30:00Z", kyiv) == dt.date(2025, 3, 5)
    assert parse_date("2025-03-04 23:30", kyiv) == dt.date(2025, 3, 4)  # no zone: already local
    assert parse_date("04/03/2025", UTC) == dt.date(2025, 4, 3)
    assert parse_date("04/03/2025", UTC, dayfirst=True) == dt.date(2025, 3, 4)
    assert parse_date("2025-03-04", UTC, dayfirst=True) == dt.date(2025, 3, 4)  # ISO stays ISO


def test_periods():
    assert period_of(dt.date(2025, 1, 1), "week") == ("2025-W01", dt.date(2024, 12, 30))
    assert period_of(dt.date(2024, 12, 29), "week") == ("2024-W52", dt.date(2024, 12, 23))
    assert period_of(dt.date(2025, 3, 9), "week") == ("2025-W10", dt.date(2025, 3, 3))
    assert period_of(dt.date(2025, 3, 9), "month") == ("2025-03", dt.date(2025, 3, 1))
    assert period_of(dt.date(2025, 3, 9), "day") == ("2025-03-09", dt.date(2025, 3, 9))


# -- aggregation ------------------------------------------------------------------------
def hand_trends(tmp_path, **kw):
    opts = TrendsOptions(by="outlet", period="week", **kw)
    trends, _ = compute_trends([write_jsonl(tmp_path / "scored.jsonl", HAND)], opts)
    return trends


def test_hand_computed_case(tmp_path):
    t = hand_trends(tmp_path)
    m = t.meta
    assert [p["period"] for p in m["periods"]] == ["2025-W10", "2025-W11", "2025-W12"]
    assert [g["group"] for g in m["groups"]] == ["Empty Wire", "Kyiv Ledger", "Московский вестник"]
    assert (m["documents"], m["errors"], m["dated"], m["undated"]) == (8, 1, 5, 2)
    assert (m["undated_missing"], m["undated_unparseable"]) == (1, 1)
    assert {u["id"]: u["reason"] for u in t.undated} == {"b2": "unparseable", "b3": "missing"}
    assert [e["id"] for e in t.errors] == ["e1"]
    # 3 groups x 3 periods x (3 frames + 3 stances + 1 balance)
    assert len(t.rows) == 3 * 3 * 7

    st = row(t, "Kyiv Ledger", "2025-W10", "security_threat")
    assert (st["documents"], st["sentences"], st["count"], st["share"]) == (2, 4, 2, 0.5)
    assert (st["ci_low"], st["ci_high"]) == pytest.approx((0.15004, 0.84996), abs=1e-5)
    dip = row(t, "Kyiv Ledger", "2025-W10", "diplomatic_opening")
    assert (dip["count"], dip["share"]) == (1, 0.25)
    assert (dip["ci_low"], dip["ci_high"]) == pytest.approx((0.04559, 0.69936), abs=1e-5)
    assert row(t, "Kyiv Ledger", "2025-W10", "pro_russia")["share"] == 0.5
    assert row(t, "Kyiv Ledger", "2025-W10", "neutral")["share"] == 0.25
    bal = row(t, "Kyiv Ledger", "2025-W10", "pro_russia - pro_ukraine")
    assert (bal["measure"], bal["count"], bal["share"], bal["ci_low"]) == ("balance", 1, 0.25, None)
    # Evidence: strongest first, with document id, sentence index, offsets, probability.
    ev = st["evidence"]
    assert [(e["id"], e["sentence"], e["probability"]) for e in ev] == [("a1", 0, 0.9), ("a1", 1, 0.7)]
    assert (ev[0]["start"], ev[0]["end"], ev[0]["text"]) == (0, 50, "Missiles hit Kharkiv.")

    # A period with no documents: a row all the same, with no share.
    gap = row(t, "Kyiv Ledger", "2025-W11", "security_threat")
    assert (gap["documents"], gap["sentences"], gap["share"], gap["ci_low"], gap["evidence"]) == (
        0,
        0,
        None,
        None,
        [],
    )
    # A period whose document has no content sentence (furniture only).
    furn = row(t, "Kyiv Ledger", "2025-W12", "security_threat")
    assert (furn["documents"], furn["sentences"], furn["share"]) == (1, 0, None)
    # A group with no content sentences at all.
    empty = [r for r in t.totals if r["group"] == "Empty Wire"]
    assert all(r["sentences"] == 0 and r["share"] is None for r in empty)
    # Non-ASCII group, whole range.
    ru = [r for r in t.totals if r["group"] == "Московский вестник" and r["label"] == "security_threat"][0]
    assert (ru["documents"], ru["sentences"], ru["share"]) == (1, 2, 1.0)
    ru_bal = row(t, "Московский вестник", "2025-W11", "pro_russia - pro_ukraine")
    assert ru_bal["share"] == 1.0


def test_evidence_ties_break_by_id_then_sentence(tmp_path):
    records = [
        doc("z", "X", "2025-03-04", [sentence(1, ["security_threat"], "neutral", 0.8)]),
        doc("b", "X", "2025-03-04", [sentence(2, ["security_threat"], "neutral", 0.8)]),
        doc("b", "X", "2025-03-04", [sentence(0, ["security_threat"], "neutral", 0.8)]),
        doc("a", "X", "2025-03-04", [sentence(5, ["security_threat"], "neutral", 0.5)]),
    ]
    t, _ = compute_trends(
        [write_jsonl(tmp_path / "s.jsonl", records)], TrendsOptions(by="outlet", evidence=3)
    )
    ev = row(t, "X", "2025-W10", "security_threat")["evidence"]
    assert [(e["id"], e["sentence"]) for e in ev] == [("b", 0), ("b", 2), ("z", 1)]


def test_no_grouping_and_balance_pair(tmp_path):
    t = hand_trends(tmp_path, balance=parse_balance(["stance=pro_ukraine,pro_russia"]))
    assert row(t, "Kyiv Ledger", "2025-W10", "pro_ukraine - pro_russia")["share"] == -0.25
    overall, _ = compute_trends([tmp_path / "scored.jsonl"], TrendsOptions(period="month"))
    assert {r["group"] for r in overall.rows} == {"all"}
    r = row(overall, "all", "2025-03", "security_threat")
    assert (r["documents"], r["sentences"], r["count"]) == (5, 6, 4)
    with pytest.raises(TrendsError, match="two of its labels"):
        hand_trends(tmp_path, balance={"stance": ("pro_russia", "nope")})
    with pytest.raises(TrendsError, match="HEAD=A,B"):
        parse_balance(["stance"])
    with pytest.raises(TrendsError, match="no document has a field 'country'"):
        compute_trends([tmp_path / "scored.jsonl"], TrendsOptions(by="country"))


def test_custom_schema_is_not_hard_coded(tmp_path):
    from framing.model.schema import ModelSchema, TrainedHead

    schema = ModelSchema(
        name="custom",
        schema_version="1",
        max_length=64,
        heads=[
            TrainedHead(name="tone", type="multi_label", labels=["alarmist", "calm"]),
            TrainedHead(name="side", type="single_label", labels=["east", "west", "none"]),
        ],
    )
    model = tmp_path / "model"
    model.mkdir()
    schema.save(model)

    def s(i, tone, side):
        return {
            "index": i,
            "start": 0,
            "end": 5,
            "text": f"t{i}",
            "content": True,
            "labels": {"tone": tone, "side": side},
            "scores": {
                "tone": {"alarmist": 0.6, "calm": 0.3},
                "side": {"east": 0.5, "west": 0.3, "none": 0.2},
            },
        }

    records = [
        {
            "id": "1",
            "country": "PL",
            "date": "2025-05-02",
            "sentences": [s(0, ["alarmist"], "west"), s(1, [], "east")],
        },
        {"id": "2", "country": "HU", "date": "2025-05-03", "sentences": [s(0, ["calm"], "east")]},
    ]
    src = write_jsonl(tmp_path / "custom.jsonl", records)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["trends", str(src), "--by", "country", "--period", "day", "--model", str(model), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "trends.csv").open(encoding="utf-8")))
    assert {r["label"] for r in rows} == {"alarmist", "calm", "east", "west", "none", "east - west"}
    pl = [r for r in rows if r["group"] == "PL" and r["period"] == "2025-05-02"]
    assert {r["label"]: float(r["share"]) for r in pl} == {
        "alarmist": 0.5,
        "calm": 0.0,
        "east": 0.5,
        "west": 0.5,
        "none": 0.0,
        "east - west": 0.0,
    }
    html = (out / "trends.html").read_text(encoding="utf-8")
    assert "alarmist" in html and "security_threat" not in html
    if importlib.util.find_spec("matplotlib"):
        assert (out / "share-tone-alarmist.png").is_file() and (out / "balance-side.png").is_file()
    # Without a schema the labels come from the data, in the same order.
    inferred, source = compute_trends([src], TrendsOptions(by="country", period="day"))
    assert [h["name"] for h in inferred.meta["heads"]] == ["tone", "side"]
    assert inferred.meta["heads"][1] == {
        "name": "side",
        "type": "single_label",
        "labels": ["east", "west", "none"],
    }
    assert "found in the scored" in source


def test_cli_trends_outputs(tmp_path, caplog):
    src = write_jsonl(tmp_path / "scored.jsonl", HAND)
    out = tmp_path / "trends"
    result = CliRunner().invoke(
        app, ["trends", str(src), "--by", "outlet", "--period", "week", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "2 undated (1 missing, 1 unparseable)" in result.output
    for name in ("trends.csv", "trends.parquet", "trends.html", "summary.json"):
        assert (out / name).is_file(), name
    rows = list(csv.DictReader((out / "trends.csv").open(encoding="utf-8")))
    assert len(rows) == 63 and rows[0]["by"] == "outlet"
    st = next(
        r
        for r in rows
        if r["group"] == "Kyiv Ledger" and r["period"] == "2025-W10" and r["label"] == "security_threat"
    )
    assert float(st["share"]) == 0.5 and json.loads(st["evidence"])[0]["id"] == "a1"
    gap = next(r for r in rows if r["group"] == "Kyiv Ledger" and r["period"] == "2025-W11")
    assert gap["share"] == "" and gap["documents"] == "0"

    import pyarrow.parquet as pq

    table = pq.read_table(out / "trends.parquet").to_pylist()
    assert len(table) == 63
    assert table[rows.index(st)]["share"] == 0.5 and table[rows.index(st)]["period_start"] == dt.date(
        2025, 3, 3
    )
    assert table[rows.index(st)]["evidence"][0]["probability"] == 0.9

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["undated"] == 2 and {u["id"] for u in summary["undated_documents"]} == {"b2", "b3"}
    assert summary["error_records"] == [{"id": "e1", "error": "empty document: no text"}]

    html = (out / "trends.html").read_text(encoding="utf-8")
    assert "Московский вестник" in html and "FramingTrends.render" in html
    assert "<script src" not in html and "<link" not in html  # opens offline
    assert 'id="trends-data"' in html
    pytest.importorskip("matplotlib")
    for name in ("share-frames-security_threat.png", "balance-stance.png", "heatmap.png", "overview.png"):
        assert (out / name).stat().st_size > 1000, name


def test_cli_trends_usage_errors(tmp_path):
    src = write_jsonl(tmp_path / "scored.jsonl", HAND)
    runner = CliRunner()
    for args, needle in [
        (["--by", "country"], "no document has a field"),
        (["--tz", "Mars/Olympus"], "unknown time zone"),
        (["--balance", "stance=pro_russia"], "HEAD=A,B"),
        (["--model", str(tmp_path)], "no model directory"),
    ]:
        result = runner.invoke(app, ["trends", str(src), "-o", str(tmp_path / "o"), *args])
        assert result.exit_code == 2 and needle in result.output, (args, result.output)
    result = runner.invoke(app, ["trends", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_streaming_aggregator_keeps_top_evidence_only():
    heads = [Head("frames", True, tuple(FRAMES)), Head("stance", False, tuple(STANCES))]
    agg = Aggregator(TrendsOptions(evidence=2), heads)
    for i in range(50):
        agg.add(
            ScoredDoc(
                f"d{i:02d}", {"published": "2025-03-04"}, [sentence(0, ["calm_not_a_label"], "neutral")]
            )
        )
        agg.add(
            ScoredDoc(
                f"e{i:02d}",
                {"published": "2025-03-04"},
                [sentence(0, ["security_threat"], "neutral", i / 100)],
            )
        )
    t = agg.result()
    r = row(t, "all", "2025-W10", "security_threat")
    assert r["count"] == 50 and r["sentences"] == 100
    assert [e["id"] for e in r["evidence"]] == ["e49", "e48"]


# -- the page's aggregation (service/static/trends.js) gives the same numbers ----------------
NODE = shutil.which("node")


def run_node(script: str, payload: dict) -> dict:
    code = (
        f"const T = require({json.dumps(str(TRENDS_JS))});\n"
        f"const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n{script}"
    )
    out = subprocess.run(
        [NODE, "-e", code], input=json.dumps(payload), capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def js_docs(records: list[dict]) -> list[dict]:
    """Scored JSONL records as the page holds them."""
    out = []
    for r in records:
        if "error" in r:
            out.append({"id": r["id"], "error": r["error"]})
        else:
            fields = {k: v for k, v in r.items() if k not in ("id", "sentences", "summary", "model")}
            out.append({"id": r["id"], "fields": fields, "sentences": r["sentences"]})
    return out


@pytest.mark.skipif(NODE is None, reason="needs node")
@pytest.mark.parametrize(
    "period, by, tz",
    [("week", "outlet", "UTC"), ("day", "outlet", "America/New_York"), ("month", None, "UTC")],
)
def test_page_aggregation_matches_the_cli(tmp_path, period, by, tz):
    py = hand_trends(tmp_path) if (period, by, tz) == ("week", "outlet", "UTC") else None
    if py is None:
        py, _ = compute_trends(
            [write_jsonl(tmp_path / "s.jsonl", HAND)], TrendsOptions(by=by, period=period, tz=tz)
        )
    heads = [
        {"name": "frames", "type": "multi_label", "labels": FRAMES},
        {"name": "stance", "type": "single_label", "labels": STANCES},
    ]
    js = run_node(
        "process.stdout.write(JSON.stringify(T.aggregate(input.docs, input.heads, input.opts)));",
        {"docs": js_docs(HAND), "heads": heads, "opts": {"by": by, "period": period, "tz": tz}},
    )
    assert js["rows"] == json.loads(json.dumps(py.rows))  # every number, to the last bit
    assert js["totals"] == json.loads(json.dumps(py.totals))
    assert js["undated"] == py.undated and js["errors"] == py.errors
    for key in ("documents", "errors", "dated", "undated", "groups", "periods", "balance", "heads"):
        assert js["meta"][key] == py.meta[key], key


JS_DATES = [
    "2025-03-04",
    "2025-3-4",
    "2025-03-04T23:30:00Z",
    "2025-03-04T23:30:00.250+02:00",
    "2025-03-04 23:30 EST",
    "2025-03-04T10:00:00+0530",
    "Tue, 04 Mar 2025 23:30:00 -0500",
    "Tue, 4 Mar 2025 23:30:00 GMT",
    "4 March 2025",
    "4 March 2025 00:30 CET",
    "March 4, 2025",
    "March 4th, 2025",
    "Mar 4, 2025 at 10:00 pm EST",
    "Mar 4, 2025 12:15 am",
    "4 Sept 2025",
    "Tuesday",
    "March 2025",
    "2025-02-30",
    "2025-03-04 10:00 XYZ",
    "2025-03-04 25:00",
    "garbage",
    "",
]


@pytest.mark.skipif(NODE is None, reason="needs node")
@pytest.mark.parametrize("tz", ["UTC", "Europe/Kyiv", "America/Los_Angeles"])
def test_page_reads_dates_as_the_cli_does(tz):
    js = run_node(
        "process.stdout.write(JSON.stringify(input.values.map((v) => { const d = T.parseDate(v, input.tz); "
        "return d && d.map((x) => String(x).padStart(2, '0')).join('-'); })));",
        {"values": JS_DATES, "tz": tz},
    )
    py = [(lambda d: d and d.isoformat())(parse_date(v, ZoneInfo(tz))) for v in JS_DATES]
    assert js == py


@pytest.mark.skipif(NODE is None, reason="needs node")
def test_page_wilson_and_weeks_match():
    cases = [[k, n] for n in (1, 2, 3, 7, 10, 33, 100) for k in range(0, n + 1, max(1, n // 4))]
    days = [
        [2024, 12, 29],
        [2024, 12, 30],
        [2025, 1, 1],
        [2026, 1, 1],
        [2020, 12, 31],
        [2021, 1, 3],
        [2025, 3, 9],
    ]
    js = run_node(
        "process.stdout.write(JSON.stringify({w: input.cases.map(([k, n]) => T.wilson(k, n)), "
        "p: input.days.map((d) => T.periodOf(d, 'week').label)}));",
        {"cases": cases, "days": days},
    )
    assert js["w"] == [list(wilson(k, n)) for k, n in cases]
    assert js["p"] == [period_of(dt.date(*d), "week")[0] for d in days]


def test_vendored_chart_library_is_package_data():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["framing.service"]
    static = ROOT / "service" / "static"
    for name in (
        "vendor/chart.umd.min.js",
        "vendor/chart.js-LICENSE.md",
        "trends.js",
        "collection.js",
        "index.html",
    ):
        assert (static / name).is_file()
        path = f"static/{name}"  # setuptools' globs do not cross folders
        assert any(fnmatch.fnmatch(path, p) and p.count("/") == path.count("/") for p in patterns), name


# -- Parquet in `framing score`, and every scored format read back --------------------------
def test_score_parquet_round_trip(trained_model_dir, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = [
        "Russian missiles struck Kyiv overnight, officials said. Kyiv said it was ready to talk.",
        "The EU adopted its nineteenth sanctions package on Thursday.",
        None,
        "   ",
        "Lavrov said Moscow was ready to negotiate on security guarantees. Share this article",
    ]
    table = pa.table(
        {
            "id": ["p1", "p2", "p3", "p4", None],
            "text": texts,
            "outlet": [
                "Kyiv Ledger",
                "Baltic Wire Service",
                "Kyiv Ledger",
                "Atlantic Review",
                "Московский вестник",
            ],
            "published": pa.array(
                [dt.datetime(2025, 3, 4, 10, tzinfo=dt.timezone.utc)] * 2
                + [None]
                + [dt.datetime(2025, 3, 20, 9)] * 2,
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    src = tmp_path / "articles.parquet"
    pq.write_table(table, src, row_group_size=2)
    runner = CliRunner()
    outs = {ext: tmp_path / f"scored.{ext}" for ext in ("parquet", "jsonl", "csv")}
    for out in outs.values():
        result = runner.invoke(
            app, ["score", str(src), "-o", str(out), "--model", str(trained_model_dir), "--no-progress"]
        )
        assert result.exit_code == 0, result.output
        assert "5 documents" in result.output and "2 error records" in result.output

    scored = pq.read_table(outs["parquet"])
    rows = scored.to_pylist()
    meta = scored.schema.metadata
    assert json.loads(meta[b"framing.schema"])["name"] == "tiny" and meta[b"framing.layout"] == b"sentence"
    ids = list(dict.fromkeys(r["id"] for r in rows))
    assert ids == ["p1", "p2", "p3", "p4", "articles.parquet:5"]  # every id once, in order
    errors = {r["id"]: r for r in rows if r["error"]}
    assert set(errors) == {"p3", "p4"} and errors["p3"]["line"] == 3 and "empty" in errors["p4"]["error"]
    p1 = [r for r in rows if r["id"] == "p1"]
    assert [r["sentence"] for r in p1] == [0, 1] and p1[0]["outlet"] == "Kyiv Ledger"
    assert p1[0]["published"] == "2025-03-04T10:00:00+00:00"
    assert isinstance(p1[0]["frames"], list) and p1[0]["stance"] in STANCES
    assert scored.schema.field("frames.security_threat").type == pa.float64()
    jsonl = [json.loads(line) for line in outs["jsonl"].read_text(encoding="utf-8").splitlines()]
    assert jsonl[0]["published"] == "2025-03-04T10:00:00+00:00" and jsonl[4]["outlet"] == "Московский вестник"
    # The Parquet output holds what the JSONL holds, sentence by sentence.
    from_jsonl = [
        (
            d["id"],
            s["index"],
            s["content"],
            s["labels"]["frames"],
            s["labels"]["stance"],
            s["scores"].get("stance"),
        )
        for d in jsonl
        if "sentences" in d
        for s in d["sentences"]
    ]
    from_parquet = [
        (r["id"], r["sentence"], r["content"], r["frames"], r["stance"])
        + ({lab: r[f"stance.{lab}"] for lab in STANCES} if r["content"] else None,)
        for r in rows
        if not r["error"]
    ]
    assert from_parquet == from_jsonl

    # `framing trends` reads all three formats to the same table; CSV labels are inferred.
    tables = {}
    for ext, out in outs.items():
        t, _ = compute_trends([out], TrendsOptions(by="outlet", period="week"))
        tables[ext] = t
    assert tables["parquet"].rows == tables["jsonl"].rows == tables["csv"].rows
    assert (
        tables["parquet"].meta["errors"] == 2 and tables["csv"].meta["heads"] == tables["jsonl"].meta["heads"]
    )


def test_score_unreadable_parquet_is_an_error_record(trained_model_dir, tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"id": "g", "text": "Talks resumed in Geneva."}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app,
        ["score", str(bad), str(good), "-o", str(out), "--model", str(trained_model_dir), "--no-progress"],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["id"] == "bad.parquet" and "Parquet" in rows[0]["error"] and rows[1]["id"] == "g"


def test_interrupted_parquet_output_is_valid(trained_model_dir, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from framing.model import batch
    from framing.model.batch import ScoreOptions, score_files

    monkeypatch.setattr(batch, "CHUNK_DOCS", 2)
    real, calls = batch._score_chunk, {"n": 0}

    def flaky(chunk):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(chunk)

    monkeypatch.setattr(batch, "_score_chunk", flaky)
    src = write_jsonl(
        tmp_path / "in.jsonl", [{"id": str(i), "text": "Drones hit Odesa.", "outlet": "X"} for i in range(10)]
    )
    out = tmp_path / "out.parquet"
    stats = score_files([src], out, ScoreOptions(model_dir=trained_model_dir, progress=False))
    assert stats.interrupted
    rows = pq.read_table(out).to_pylist()  # the footer is there
    assert [r["id"] for r in rows] == ["0", "1", "2", "3"] and rows[0]["outlet"] == "X"


def test_example_collection(trained_model_dir, tmp_path):
    records = [
        json.loads(line) for line in (ROOT / "examples" / "articles.jsonl").read_text("utf-8").splitlines()
    ]
    assert len(records) >= 36 and all(set(r) == {"id", "outlet", "published", "text"} for r in records)
    assert 4 <= len({r["outlet"] for r in records}) <= 5 and len({r["id"] for r in records}) == len(records)
    days = [parse_date(r["published"], UTC) for r in records]
    assert None not in days and (max(days) - min(days)).days <= 61
    scored, out = tmp_path / "scored.jsonl", tmp_path / "trends"
    runner = CliRunner()
    args = [
        "score",
        str(ROOT / "examples" / "articles.jsonl"),
        "-o",
        str(scored),
        "--model",
        str(trained_model_dir),
    ]
    assert runner.invoke(app, [*args, "--no-progress"]).exit_code == 0
    result = runner.invoke(app, ["trends", str(scored), "--by", "outlet", "--period", "week", "-o", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (summary["dated"], summary["undated"], summary["errors"]) == (len(records), 0, 0)
    assert len(summary["groups"]) == len({r["outlet"] for r in records}) and len(summary["periods"]) == 9
