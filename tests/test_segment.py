"""Sentence segmentation on messy news text: offsets always round-trip."""

from __future__ import annotations

import pytest

from framing.model.segment import split_sentences

MESSY = [
    "U.S. President Donald Trump met Vladimir Putin in Anchorage. Both said talks were useful.",
    "KYIV UNDER FIRE\r\n\r\nRussian drones struck the capital overnight.\r\nOfficials said 4 died.",
    "***\n----\n   \n\t\nGen. Syrskyi said the line held.\n• • •\n",
    "\u201cWe will not trade territory for peace,\u201d Zelensky said \u2014 again.",
    "Peace \U0001f54a\ufe0f talks resumed \U0001f1fa\U0001f1e6 in Istanbul. Next round: May.",
    "\u0645\u0641\u0627\u0648\u0636\u0627\u062a \u0627\u0644\u0633\u0644\u0627\u0645. "
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd. Then English follows.",
    "Zero\u200bwidth\u200c joiners\u200d here.\u2060 And a BOM \ufeffinside.",
    "\ttabbed\tline\twith\ttabs.\u00a0\u00a0Non-breaking spaces too.",
    "",
    "   \n\n  ",
]


@pytest.mark.parametrize("text", MESSY)
def test_offsets_round_trip(text):
    spans = split_sentences(text)
    for s in spans:
        assert text[s.start : s.end] == s.text
        assert s.text == s.text.strip()
        assert any(ch.isalnum() for ch in s.text)
    starts = [s.start for s in spans]
    assert starts == sorted(starts)


def test_line_break_ends_a_sentence_and_junk_is_dropped():
    spans = split_sentences(MESSY[1])
    assert [s.text for s in spans] == [
        "KYIV UNDER FIRE",
        "Russian drones struck the capital overnight.",
        "Officials said 4 died.",
    ]
    assert [s.text for s in split_sentences(MESSY[2])] == ["Gen. Syrskyi said the line held."]


def test_abbreviations_do_not_split():
    texts = [s.text for s in split_sentences(MESSY[0])]
    assert texts[0].startswith("U.S. President Donald Trump")
    assert len(texts) == 2


def test_empty_input_gives_no_sentences():
    assert split_sentences("") == []
    assert split_sentences(" \n\t\r\n") == []


@pytest.mark.parametrize(
    "line", [t for t in MESSY if t.strip()] + ["One.  Two  words.\u3000Three. ", "Dr. Who? Yes."]
)
def test_found_offsets_are_blingfires_own(line):
    """The offsets found by searching the line match the ones blingfire computes itself."""
    import blingfire

    from framing.model.segment import _sentence_offsets

    assert _sentence_offsets(line) == [tuple(o) for o in blingfire.text_to_sentences_and_offsets(line)[1]]
