"""A Markdown description of a labelled CSV: counts per head and split, label
co-occurrence, sentence lengths and the actors the sentences mention.

Every label comes from the config's heads; nothing here knows the default labels.
Standard library + numpy, so it runs on the base install.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from framing.training.checks import SPLITS, Example, check_file, label_counts
from framing.training.config import Config

log = logging.getLogger(__name__)

REPORT_COMMAND = "framing data report data/corpus.csv --config configs/default.yaml -o data/README.md"
TOP_ACTORS = 25
LENGTH_BIN = 10  # words per histogram bin
NO_SPLIT = "(no split)"


@dataclass(frozen=True)
class Actor:
    """One actor: a display name (the first alias on its line) and every alias."""

    name: str
    aliases: tuple[str, ...]
    pattern: re.Pattern[str]


def read_actors(path: Path) -> list[Actor]:
    """One actor per line, aliases separated by `|`; blank lines and `#` comments skipped."""
    actors: list[Actor] = []
    seen: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        aliases = tuple(dict.fromkeys(a.strip() for a in line.split("|") if a.strip()))
        for alias in aliases:
            if alias in seen:
                log.warning("%s:%d: alias %r already belongs to %r", path, number, alias, seen[alias])
            seen.setdefault(alias, aliases[0])
        # Word boundaries that also hold for aliases that start or end in punctuation ("U.S.").
        alternation = "|".join(re.escape(a) for a in sorted(aliases, key=len, reverse=True))
        actors.append(Actor(aliases[0], aliases, re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")))
    return actors


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _splits(examples: list[Example]) -> list[str]:
    present = {e.split or NO_SPLIT for e in examples}
    return [s for s in (*SPLITS, NO_SPLIT) if s in present]


def _split_section(examples: list[Example]) -> list[str]:
    counts = Counter(e.split or NO_SPLIT for e in examples)
    total = len(examples)
    rows = [(s, counts[s], f"{100 * counts[s] / total:.1f}%") for s in _splits(examples)]
    rows.append(("all", total, "100%"))
    return ["## Rows per split", ""] + _table(("split", "rows", "share"), rows)


def _label_section(examples: list[Example], config: Config) -> list[str]:
    splits = _splits(examples)
    # label_counts files rows without a split under "all" only.
    columns = [s for s in splits if s != NO_SPLIT]
    out = ["## Labels per split", ""]
    for head, table in label_counts(examples, config).items():
        multi = next(h for h in config.heads if h.name == head).multi
        kind = "multi-label: a row may hold several labels or none" if multi else "single-label"
        out += [f"### `{head}` ({kind})", ""]
        rows = [(f"`{lab}`", *(c[s] for s in columns), c["all"]) for lab, c in table.items()]
        out += _table(("label", *columns, "all"), rows)
    return out


def _multi_section(examples: list[Example], config: Config) -> list[str]:
    splits = _splits(examples)
    out: list[str] = []
    for head in (h for h in config.heads if h.multi):

        def row(title: str, keep: Callable[[int], bool], name: str = head.name) -> list[object]:
            per = Counter(e.split or NO_SPLIT for e in examples if keep(len(e.labels[name])))
            return [title, *(per[s] for s in splits), sum(per.values())]

        out += [f"## Labels per row: `{head.name}`", ""]
        out += _table(
            ("rows with", *splits, "all"),
            [
                row("no label", lambda k: k == 0),
                row("one label", lambda k: k == 1),
                row("two or more labels", lambda k: k >= 2),
            ],
        )
    return out


def _cross_section(examples: list[Example], config: Config) -> list[str]:
    out: list[str] = []
    for single in (h for h in config.heads if not h.multi):
        for multi in (h for h in config.heads if h.multi):
            out += [f"## `{single.name}` by `{multi.name}` (all splits)", ""]
            out += [
                f"A row with several `{multi.name}` labels counts once under each; "
                "`(none)` is a row with none.",
                "",
            ]
            table: dict[str, Counter[str]] = {lab: Counter() for lab in [*multi.labels, "(none)"]}
            for e in examples:
                for lab in e.labels[multi.name] or ["(none)"]:
                    table[lab].update(e.labels[single.name])
            out += _table(
                (multi.name, *(f"`{s}`" for s in single.labels), "total"),
                [(f"`{lab}`", *(c[s] for s in single.labels), sum(c.values())) for lab, c in table.items()],
            )
    return out


def _length_section(examples: list[Example]) -> list[str]:
    out = ["## Sentence length (words)", ""]
    if not examples:
        return out + ["No rows.", ""]
    n = np.array([len(e.text.split()) for e in examples])
    p10, median, p90 = np.percentile(n, [10, 50, 90])
    out += _table(
        ("min", "p10", "median", "mean", "p90", "max"),
        [(int(n.min()), f"{p10:g}", f"{median:g}", f"{n.mean():.1f}", f"{p90:g}", int(n.max()))],
    )
    bins = Counter((int(k) - 1) // LENGTH_BIN for k in n if k > 0)
    rows = [
        (f"{b * LENGTH_BIN + 1}–{(b + 1) * LENGTH_BIN}", bins[b]) for b in range(max(bins, default=0) + 1)
    ]
    return out + _table(("words", "rows"), rows)


def _actor_section(examples: list[Example], actors: list[Actor], source: Path) -> list[str]:
    out = ["## Actors", ""]
    hits = Counter({a.name: sum(1 for e in examples if a.pattern.search(e.text)) for a in actors})
    found = [name for name, k in hits.most_common() if k > 0]
    out += [
        f"{len(found)} of the {len(actors)} actors listed in `{source.as_posix()}` occur in at "
        "least one sentence (whole-word, case-sensitive match on any alias).",
        "",
    ]
    if found:
        total = len(examples)
        out += [f"Top {min(TOP_ACTORS, len(found))} by number of sentences:", ""]
        out += _table(
            ("actor", "sentences", "share"),
            [(name, hits[name], f"{100 * hits[name] / total:.1f}%") for name in found[:TOP_ACTORS]],
        )
    return out


def read_hard_terms(path: Path, config: Config) -> tuple[str, dict[str, re.Pattern[str]]]:
    """The head and per-label term patterns of a hard-terms YAML file, checked against the config."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    head = next((h for h in config.heads if h.name == raw.get("head")), None)
    if head is None or not head.multi:
        raise ValueError(f"{path}: head {raw.get('head')!r} is not a multi-label head of the config")
    terms = raw.get("terms") or {}
    unknown = sorted(set(terms) - set(head.labels))
    if unknown:
        raise ValueError(f"{path}: head {head.name!r} has no label(s) {unknown}")
    patterns = {
        label: re.compile(r"(?<!\w)(?:" + "|".join(words) + ")", re.IGNORECASE)
        for label, words in terms.items()
        if words
    }
    return head.name, patterns


def _hard_negative_section(examples: list[Example], source: Path, config: Config) -> list[str]:
    head, patterns = read_hard_terms(source, config)
    out = [f"## Hard negatives: `{head}`", ""]
    out += [
        f"Rows that mention a label's trigger terms (`{source.as_posix()}`) without carrying the "
        "label: the cases that teach the model a word is not a frame.",
        "",
    ]
    rows, hard_rows = [], set()
    for label, pattern in patterns.items():
        mention = [i for i, e in enumerate(examples) if pattern.search(e.text)]
        hard = [i for i in mention if label not in examples[i].labels[head]]
        hard_rows.update(hard)
        rows.append((f"`{label}`", len(mention), len(hard)))
    none_hard = [i for i in hard_rows if not examples[i].labels[head]]
    out += _table(("label", "rows mentioning its terms", "of them without the label"), rows)
    out += [
        f"{len(hard_rows)} rows are a hard negative for at least one label; {len(none_hard)} of "
        f"them carry no `{head}` label at all.",
        "",
    ]
    return out


def corpus_report(
    path: str | Path,
    config: Config,
    actors: Path | None,
    *,
    command: str = REPORT_COMMAND,
    hard_terms: Path | None = None,
) -> str:
    """Describe the labelled CSV at `path` as Markdown, using the config's heads."""
    path = Path(path)
    result = check_file(path, config, duplicates=False)
    examples = result.examples
    lines = [
        f"# Corpus report: `{path.name}`",
        "",
        f"Generated by `{command}`; do not edit by hand, rerun the command instead.",
        "",
        f"Config `{config.name}` (schema {config.schema_version}), heads: "
        + ", ".join(f"`{h.name}` ({h.type})" for h in config.heads)
        + f". {len(examples)} rows.",
        "",
    ]
    if result.problems:
        log.warning(
            "%s: %d problem(s); rows with problems are left out of the report", path, len(result.problems)
        )
        lines += [
            f"**{len(result.problems)} problem(s)** in the file; rows with problems are "
            f"left out. List them with `framing data check {path.as_posix()}`.",
            "",
        ]
    if not examples:
        return "\n".join(lines)
    lines += _split_section(examples)
    lines += _label_section(examples, config)
    lines += _multi_section(examples, config)
    lines += _cross_section(examples, config)
    lines += _length_section(examples)
    if hard_terms is not None:
        lines += _hard_negative_section(examples, hard_terms, config)
    if actors is not None:
        lines += _actor_section(examples, read_actors(actors), actors)
    return "\n".join(lines).rstrip() + "\n"
