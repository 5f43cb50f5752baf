"""Tests for the offline demo data of the translation plugin.

The module is loaded by file path so the test does not depend on the rest of
the ``tasklight_translation`` package.
"""

import importlib.util
import re
from pathlib import Path

import pytest

_PATH = (Path(__file__).resolve().parents[2]
         / "plugins" / "tasklight_translation" / "demo.py")


def _load():
    spec = importlib.util.spec_from_file_location("_translation_demo", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo = _load()


@pytest.fixture(scope="module")
def default_splits():
    return {split: demo.demo_pairs(split, 0, size)
            for split, size in demo.DEFAULT_SIZES.items()}


# ---------------------------------------------------------------- numbers

GERMAN = {
    0: "null", 1: "eins", 7: "sieben", 13: "dreizehn", 16: "sechzehn",
    17: "siebzehn", 20: "zwanzig", 21: "einundzwanzig", 30: "dreißig",
    99: "neunundneunzig", 100: "hundert", 101: "hunderteins",
    110: "hundertzehn", 200: "zweihundert", 345: "dreihundertfünfundvierzig",
    999: "neunhundertneunundneunzig",
}

ENGLISH = {
    0: "zero", 1: "one", 7: "seven", 13: "thirteen", 16: "sixteen",
    17: "seventeen", 20: "twenty", 21: "twenty-one", 30: "thirty",
    99: "ninety-nine", 100: "one hundred", 101: "one hundred one",
    110: "one hundred ten", 345: "three hundred forty-five",
    999: "nine hundred ninety-nine",
}


@pytest.mark.parametrize("n,word", sorted(GERMAN.items()))
def test_german_number(n, word):
    assert demo.german_number(n) == word


@pytest.mark.parametrize("n,words", sorted(ENGLISH.items()))
def test_english_number(n, words):
    assert demo.english_number(n) == words


def test_number_words_are_injective_and_german_is_one_word():
    german = [demo.german_number(n) for n in range(1000)]
    english = [demo.english_number(n) for n in range(1000)]
    assert len(set(german)) == 1000
    assert len(set(english)) == 1000
    assert all(" " not in g and g == g.lower() for g in german)


@pytest.mark.parametrize("bad", [-1, 1000, 3.0, True])
def test_number_range_checked(bad):
    with pytest.raises(ValueError):
        demo.german_number(bad)
    with pytest.raises(ValueError):
        demo.english_number(bad)


def test_phrase_helpers():
    assert demo.noun_phrase_pair(21, "red", "cats") == (
        "twenty-one red cats", "einundzwanzig rote Katzen")
    assert demo.noun_phrase_pair(305, "small", "houses") == (
        "three hundred five small houses", "dreihundertfünf kleine Häuser")
    assert demo.noun_phrase_pair("no", "white", "apples") == (
        "no white apples", "keine weißen Äpfel")
    assert demo.noun_phrase_pair("many", None, "birds") == (
        "many birds", "viele Vögel")
    assert demo.date_pair("Monday", "May", 3) == (
        "on Monday , May 3", "am Montag , dem 3. Mai")
    with pytest.raises(ValueError):
        demo.noun_phrase_pair(101, "red", "cats")  # would need a singular
    with pytest.raises(ValueError):
        demo.date_pair("Monday", "April", 31)


# ---------------------------------------------------------------- pairs


def test_default_sizes():
    assert demo.DEFAULT_SIZES == {"train": 20000, "validation": 500,
                                  "test": 500}


def test_sizes_respected(default_splits):
    for split, size in demo.DEFAULT_SIZES.items():
        assert len(default_splits[split]) == size
    for size in (0, 1, 37):
        for split in demo.SPLITS:
            assert len(demo.demo_pairs(split, 3, size)) == size


def test_deterministic(default_splits):
    for split in demo.SPLITS:
        assert demo.demo_pairs(split, 0, 300) == default_splits[split][:300]
        assert demo.demo_pairs(split, 5, 50) == demo.demo_pairs(split, 5, 50)


def test_seeds_and_splits_differ():
    assert demo.demo_pairs("train", 0, 100) != demo.demo_pairs("train", 1, 100)
    assert demo.demo_pairs("test", 0, 100) != demo.demo_pairs("test", 1, 100)
    assert demo.demo_pairs("validation", 0, 100) != demo.demo_pairs(
        "test", 0, 100)


def test_splits_disjoint(default_splits):
    english = {split: {en for en, _ in pairs}
               for split, pairs in default_splits.items()}
    assert not english["train"] & english["validation"]
    assert not english["train"] & english["test"]
    assert not english["validation"] & english["test"]
    # also across seeds: the split is a function of the sentence alone
    other_train = {en for en, _ in demo.demo_pairs("train", 1, 5000)}
    assert not other_train & (english["validation"] | english["test"])


def test_bad_arguments():
    with pytest.raises(ValueError):
        demo.demo_pairs("dev", 0, 10)
    with pytest.raises(ValueError):
        demo.demo_pairs("train", 0, -1)


def test_strings_well_formed(default_splits):
    for pairs in default_splits.values():
        for en, de in pairs:
            for text in (en, de):
                assert isinstance(text, str) and text.strip() == text
                assert "  " not in text
                assert demo.MIN_WORDS <= len(text.split()) <= demo.MAX_WORDS


def test_not_a_copy_task(default_splits):
    for pairs in default_splits.values():
        assert sum(en == de for en, de in pairs) == 0
    train = default_splits["train"]
    # most sentences share (almost) no tokens between the two sides
    overlap = [len(set(en.split()) & set(de.split()) - {",", ".", "?"})
               / len(set(de.split())) for en, de in train]
    assert sum(overlap) / len(overlap) < 0.1


def test_translation_is_a_function(default_splits):
    seen = {}
    for pairs in default_splits.values():
        for en, de in pairs:
            assert seen.setdefault(en, de) == de


def test_small_vocabulary_with_real_german(default_splits):
    train = default_splits["train"]
    words = {w.lower() for en, _ in train for w in re.split(r"[\s-]+", en)
             if w.isalpha()}
    assert len(words) < 150
    german = " ".join(de for _, de in train)
    for ch in "äöüß":
        assert ch in german
    # a varied mix: many distinct sentences, every template shape present
    assert len({en for en, _ in train}) > 0.8 * len(train)
    starts = {en.split()[0] for en, _ in train}
    assert {"on", "On", "The", "Do", "Does", "Today", "I"} <= starts


def test_grammar_spot_checks(default_splits):
    pairs = [p for ps in default_splits.values() for p in ps]
    checks = {
        "verb final after modal": (r"^(\w+) wants? to (\w+) ",
                                   r" (sehen|kaufen|verkaufen|malen|finden"
                                   r"|zählen) \.$"),
        "participle final": (r"^(I|You|He|She|We|They) (have|has) ",
                             r" (gesehen|gekauft|verkauft|gemalt|gefunden"
                             r"|gezählt) \.$"),
        "subordinate verb final": (r" know(s)? that ", r" , dass .* \w+ \.$"),
        "verb-first question": (r"\?$", r"^[A-ZÄÖÜ]\w+ (ich|du|er|sie|wir) "),
        "date": (r"^on \w+ , \w+ \d+$", r"^am \w+ , dem \d+\. \w+$"),
    }
    for name, (en_re, de_re) in checks.items():
        matching = [(en, de) for en, de in pairs if re.search(en_re, en)]
        assert matching, name
        for en, de in matching:
            assert re.search(de_re, de), (name, en, de)
    # numbers are translated, never copied, and reordered units-before-tens
    for en, de in pairs:
        m = re.search(r"\bforty-five\b", en)
        if m:
            assert "fünfundvierzig" in de, (en, de)
