"""Offline ``demo`` data source for the English->German translation task.

``platform run translation`` with no data trains on these pairs.  They are
synthetic but *not* a copy task: the German side needs real reordering and
morphology, while the vocabulary stays small enough (about 110 distinct
English words) for a small transformer to learn it on a CPU within minutes.

What the model has to learn:

* number words 0-999, where German puts the units before the tens and writes
  the whole number as one compound word (21 "twenty-one" -> "einundzwanzig",
  345 "three hundred forty-five" -> "dreihundertfünfundvierzig");
* noun plurals (often with umlaut: house -> Häuser, apple -> Äpfel) and
  capitalised German nouns;
* adjective endings that depend on the determiner: strong "-e" after a
  number or "many" ("drei rote Katzen", "viele rote Katzen"), weak "-en"
  after "no"/"all" ("keine roten Katzen", "alle roten Katzen");
* verb conjugation by person (ich sehe, du siehst, er sieht, wir sehen);
* word order: infinitive and participle at the clause end ("Ich will drei
  Katzen kaufen .", "Ich habe drei Katzen gekauft ."), verb-final subordinate
  clauses ("..., dass er drei Katzen gekauft hat ."), verb-second inversion
  after a fronted time ("Heute kaufen wir ...", "Am Montag , dem 3. Mai ,
  kaufen wir ...") and verb-first questions ("Siehst du ... ?");
* dates: "on Monday , May 3" -> "am Montag , dem 3. Mai".

Conventions (fixed, so every English sentence has exactly one translation):
100 is "hundert" (not "einhundert"), 101 is "hunderteins", a standalone 1 is
"eins"; counted nouns are always plural, so a count never ends in a lone
"one" (n % 100 == 1 is never used before a noun); English "you" is the
informal singular "du"; tokens (including "," "." "?") are separated by
single spaces on both sides.

Standard library only.
"""

from __future__ import annotations

import hashlib
import random

__all__ = [
    "DEFAULT_SIZES",
    "SPLITS",
    "date_pair",
    "demo_pairs",
    "english_number",
    "german_number",
    "noun_phrase_pair",
    "split_of",
]

DEFAULT_SIZES = {"train": 20000, "validation": 500, "test": 500}
SPLITS = ("train", "validation", "test")

MIN_WORDS = 3
MAX_WORDS = 15

# --------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------

_EN_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
    "sixteen", "seventeen", "eighteen", "nineteen",
]
_EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
            "eighty", "ninety"]

_DE_ONES = [
    "null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht",
    "neun", "zehn", "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn",
    "sechzehn", "siebzehn", "achtzehn", "neunzehn",
]
_DE_TENS = ["", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig",
            "siebzig", "achtzig", "neunzig"]
# Units as they appear in front of "und<tens>" and in front of "hundert".
_DE_PREFIX = ["", "ein", "zwei", "drei", "vier", "fünf", "sechs", "sieben",
              "acht", "neun"]


def _check_number(n: int) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= 999:
        raise ValueError(f"number must be an int in 0..999, got {n!r}")


def english_number(n: int) -> str:
    """American English number words for 0..999, e.g. 345 ->
    "three hundred forty-five", 101 -> "one hundred one"."""
    _check_number(n)
    if n < 20:
        return _EN_ONES[n]
    if n < 100:
        tens, units = divmod(n, 10)
        return _EN_TENS[tens] + ("-" + _EN_ONES[units] if units else "")
    hundreds, rest = divmod(n, 100)
    words = _EN_ONES[hundreds] + " hundred"
    return words + (" " + english_number(rest) if rest else "")


def german_number(n: int) -> str:
    """German cardinal for 0..999 as one word (standalone form), e.g.
    21 -> "einundzwanzig", 100 -> "hundert", 101 -> "hunderteins",
    345 -> "dreihundertfünfundvierzig"."""
    _check_number(n)
    if n < 20:
        return _DE_ONES[n]
    if n < 100:
        tens, units = divmod(n, 10)
        if units == 0:
            return _DE_TENS[tens]
        return _DE_PREFIX[units] + "und" + _DE_TENS[tens]
    hundreds, rest = divmod(n, 100)
    words = ("" if hundreds == 1 else _DE_PREFIX[hundreds]) + "hundert"
    return words + (german_number(rest) if rest else "")


# --------------------------------------------------------------------------
# vocabulary
# --------------------------------------------------------------------------

# English plural -> German plural (nouns are only ever used in the plural).
_NOUNS = {
    "cats": "Katzen",
    "dogs": "Hunde",
    "houses": "Häuser",
    "books": "Bücher",
    "cars": "Autos",
    "apples": "Äpfel",
    "birds": "Vögel",
    "trees": "Bäume",
    "chairs": "Stühle",
    "flowers": "Blumen",
    "tables": "Tische",
    "boxes": "Kisten",
}

# English adjective -> German stem (strong plural: stem + "e", weak: + "en").
_ADJECTIVES = {
    "red": "rot",
    "blue": "blau",
    "green": "grün",
    "yellow": "gelb",
    "black": "schwarz",
    "white": "weiß",
    "small": "klein",
    "big": "groß",
    "old": "alt",
    "new": "neu",
}

# Non-numeric determiners: English -> (German, adjective ending).
_DETERMINERS = {
    "many": ("viele", "e"),
    "no": ("keine", "en"),
    "all": ("alle", "en"),
}

# person keys: 1s, 2s, 3s, 1p, 3p
_SUBJECTS = {
    "I": ("ich", "1s"),
    "you": ("du", "2s"),
    "he": ("er", "3s"),
    "she": ("sie", "3s"),
    "we": ("wir", "1p"),
    "they": ("sie", "3p"),
}


def _regular(stem: str, participle: str) -> dict:
    t = "et" if stem.endswith(("d", "t")) else "t"
    st = "est" if stem.endswith(("d", "t")) else "st"
    return {"1s": stem + "e", "2s": stem + st, "3s": stem + t,
            "1p": stem + "en", "3p": stem + "en", "inf": stem + "en",
            "part": participle}


# English base -> (English 3rd singular, English participle, German forms).
_VERBS = {
    "see": ("sees", "seen", {"1s": "sehe", "2s": "siehst", "3s": "sieht",
                              "1p": "sehen", "3p": "sehen", "inf": "sehen",
                              "part": "gesehen"}),
    "buy": ("buys", "bought", _regular("kauf", "gekauft")),
    "sell": ("sells", "sold", _regular("verkauf", "verkauft")),
    "paint": ("paints", "painted", _regular("mal", "gemalt")),
    "find": ("finds", "found", _regular("find", "gefunden")),
    "count": ("counts", "counted", _regular("zähl", "gezählt")),
}

_HABEN = {"1s": "habe", "2s": "hast", "3s": "hat", "1p": "haben", "3p": "haben"}
_WOLLEN = {"1s": "will", "2s": "willst", "3s": "will", "1p": "wollen",
           "3p": "wollen"}
_WISSEN = {"1s": "weiß", "2s": "weißt", "3s": "weiß", "1p": "wissen",
           "3p": "wissen"}

_ADVERBS = {"today": "heute", "tomorrow": "morgen"}

_WEEKDAYS = {
    "Monday": "Montag", "Tuesday": "Dienstag", "Wednesday": "Mittwoch",
    "Thursday": "Donnerstag", "Friday": "Freitag", "Saturday": "Samstag",
    "Sunday": "Sonntag",
}
# English month -> (German month, number of days).
_MONTHS = {
    "January": ("Januar", 31), "February": ("Februar", 29),
    "March": ("März", 31), "April": ("April", 30), "May": ("Mai", 31),
    "June": ("Juni", 30), "July": ("Juli", 31), "August": ("August", 31),
    "September": ("September", 30), "October": ("Oktober", 31),
    "November": ("November", 30), "December": ("Dezember", 31),
}


def _en_3s(person: str, base: str, third: str) -> str:
    return third if person == "3s" else base


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------
# phrase builders (public ones are handy for spot checks)
# --------------------------------------------------------------------------


def noun_phrase_pair(count, adjective: str | None, noun: str) -> tuple[str, str]:
    """Plural noun phrase.  ``count`` is an int 2..999 (not ending in a lone
    "one", i.e. count % 100 != 1) or one of "many", "no", "all"; ``adjective``
    an English adjective or None; ``noun`` an English plural noun.

    >>> noun_phrase_pair(21, "red", "cats")
    ('twenty-one red cats', 'einundzwanzig rote Katzen')
    >>> noun_phrase_pair("no", "big", "houses")
    ('no big houses', 'keine großen Häuser')
    """
    if isinstance(count, str):
        det_de, ending = _DETERMINERS[count]
        det_en = count
    else:
        _check_number(count)
        if count < 2 or count % 100 == 1:
            raise ValueError(f"count {count} would need a singular noun")
        det_en, det_de, ending = english_number(count), german_number(count), "e"
    en = [det_en]
    de = [det_de]
    if adjective is not None:
        en.append(adjective)
        de.append(_ADJECTIVES[adjective] + ending)
    en.append(noun)
    de.append(_NOUNS[noun])
    return " ".join(en), " ".join(de)


def date_pair(weekday: str, month: str, day: int) -> tuple[str, str]:
    """``date_pair("Monday", "May", 3)`` ->
    ``("on Monday , May 3", "am Montag , dem 3. Mai")``."""
    month_de, days = _MONTHS[month]
    if not 1 <= day <= days:
        raise ValueError(f"{month} has no day {day}")
    return (f"on {weekday} , {month} {day}",
            f"am {_WEEKDAYS[weekday]} , dem {day}. {month_de}")


# --------------------------------------------------------------------------
# random sentence generation
# --------------------------------------------------------------------------


def _sample_number(rng: random.Random, standalone: bool) -> int:
    while True:
        r = rng.random()
        if r < 0.25:
            n = rng.randint(0, 19)
        elif r < 0.6:
            n = rng.randint(20, 99)
        else:
            n = rng.randint(100, 999)
        if standalone:
            return n
        if n >= 2 and n % 100 != 1:
            return n


def _sample_np(rng: random.Random, allow_no: bool = True) -> tuple[str, str]:
    r = rng.random()
    if r < 0.8:
        count = _sample_number(rng, standalone=False)
    else:
        choices = ["many", "all", "no"] if allow_no else ["many", "all"]
        count = rng.choice(choices)
    adjective = rng.choice(sorted(_ADJECTIVES)) if rng.random() < 0.75 else None
    return noun_phrase_pair(count, adjective, rng.choice(sorted(_NOUNS)))


def _sample_date(rng: random.Random) -> tuple[str, str]:
    month = rng.choice(list(_MONTHS))
    return date_pair(rng.choice(list(_WEEKDAYS)), month,
                     rng.randint(1, _MONTHS[month][1]))


def _sample_subject(rng: random.Random):
    en = rng.choice(list(_SUBJECTS))
    de, person = _SUBJECTS[en]
    return en, de, person


def _sample_verb(rng: random.Random):
    base = rng.choice(list(_VERBS))
    third, part, forms = _VERBS[base]
    return base, third, part, forms


def _t_phrase(rng):
    while True:
        en, de = _sample_np(rng)
        if len(en.split()) >= MIN_WORDS:
            return en, de


def _t_date(rng):
    return _sample_date(rng)


def _t_number(rng):
    n = _sample_number(rng, standalone=True)
    return (f"The number is {english_number(n)} .",
            f"Die Zahl ist {german_number(n)} .")


def _t_present(rng):
    s_en, s_de, p = _sample_subject(rng)
    base, third, _, forms = _sample_verb(rng)
    np_en, np_de = _sample_np(rng)
    return (f"{_cap(s_en)} {_en_3s(p, base, third)} {np_en} .",
            f"{_cap(s_de)} {forms[p]} {np_de} .")


def _t_modal(rng):
    s_en, s_de, p = _sample_subject(rng)
    base, _, _, forms = _sample_verb(rng)
    np_en, np_de = _sample_np(rng)
    return (f"{_cap(s_en)} {_en_3s(p, 'want', 'wants')} to {base} {np_en} .",
            f"{_cap(s_de)} {_WOLLEN[p]} {np_de} {forms['inf']} .")


def _t_perfect(rng):
    s_en, s_de, p = _sample_subject(rng)
    _, _, part, forms = _sample_verb(rng)
    np_en, np_de = _sample_np(rng)
    return (f"{_cap(s_en)} {_en_3s(p, 'have', 'has')} {part} {np_en} .",
            f"{_cap(s_de)} {_HABEN[p]} {np_de} {forms['part']} .")


def _t_question(rng):
    s_en, s_de, p = _sample_subject(rng)
    base, _, _, forms = _sample_verb(rng)
    np_en, np_de = _sample_np(rng, allow_no=False)
    return (f"{_en_3s(p, 'Do', 'Does')} {s_en} {base} {np_en} ?",
            f"{_cap(forms[p])} {s_de} {np_de} ?")


def _t_subordinate(rng):
    m_en, m_de, mp = _sample_subject(rng)
    s_en, s_de, p = _sample_subject(rng)
    base, third, part, forms = _sample_verb(rng)
    np_en, np_de = _sample_np(rng)
    head_en = f"{_cap(m_en)} {_en_3s(mp, 'know', 'knows')} that {s_en}"
    head_de = f"{_cap(m_de)} {_WISSEN[mp]} , dass {s_de} {np_de}"
    if rng.random() < 0.5:
        return (f"{head_en} {_en_3s(p, base, third)} {np_en} .",
                f"{head_de} {forms[p]} .")
    return (f"{head_en} {_en_3s(p, 'have', 'has')} {part} {np_en} .",
            f"{head_de} {forms['part']} {_HABEN[p]} .")


def _t_fronted(rng):
    """Fronted time expression -> German verb-second inversion."""
    if rng.random() < 0.4:
        adv = rng.choice(list(_ADVERBS))
        t_en, t_de = _cap(adv), _cap(_ADVERBS[adv])
    else:
        d_en, d_de = _sample_date(rng)
        t_en, t_de = _cap(d_en) + " ,", _cap(d_de) + " ,"
    s_en, s_de, p = _sample_subject(rng)
    base, third, _, forms = _sample_verb(rng)
    np_en, np_de = _sample_np(rng)
    return (f"{t_en} {s_en} {_en_3s(p, base, third)} {np_en} .",
            f"{t_de} {forms[p]} {s_de} {np_de} .")


_TEMPLATES = (
    (_t_phrase, 1.0),
    (_t_date, 0.6),
    (_t_number, 0.8),
    (_t_present, 1.6),
    (_t_modal, 1.2),
    (_t_perfect, 1.2),
    (_t_question, 1.0),
    (_t_subordinate, 1.2),
    (_t_fronted, 1.4),
)
_TEMPLATE_FUNCS = [t for t, _ in _TEMPLATES]
_TEMPLATE_WEIGHTS = [w for _, w in _TEMPLATES]


def _sample_pair(rng: random.Random) -> tuple[str, str]:
    while True:
        (template,) = rng.choices(_TEMPLATE_FUNCS, weights=_TEMPLATE_WEIGHTS)
        en, de = template(rng)
        if (MIN_WORDS <= len(en.split()) <= MAX_WORDS
                and MIN_WORDS <= len(de.split()) <= MAX_WORDS):
            return en, de


# --------------------------------------------------------------------------
# splits
# --------------------------------------------------------------------------


def split_of(english: str) -> str:
    """The one split an English sentence may appear in (90/5/5 by a stable
    hash of the sentence), so train, validation and test never share an
    English sentence whatever sizes and seeds are asked for."""
    bucket = int.from_bytes(
        hashlib.sha256(english.encode("utf-8")).digest()[:8], "big") % 100
    if bucket < 90:
        return "train"
    if bucket < 95:
        return "validation"
    return "test"


def demo_pairs(split: str, seed: int, size: int) -> list[tuple[str, str]]:
    """``size`` (english, german) sentence pairs for ``split`` (one of
    "train", "validation", "test").  Deterministic for (split, seed, size);
    each split draws from its own random stream, and an English sentence
    only ever appears in the split :func:`split_of` assigns it to, so no
    validation/test sentence occurs in train.  Pairs may repeat within a
    split (as in real corpora)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError(f"size must be a non-negative int, got {size!r}")
    rng = random.Random(f"tasklight-translation-demo-{seed}-{split}")
    pairs: list[tuple[str, str]] = []
    while len(pairs) < size:
        en, de = _sample_pair(rng)
        if split_of(en) == split:
            pairs.append((en, de))
    return pairs
