"""Offline ``demo`` data for extractive QA: short biographies of invented people.

Each paragraph tells two or three facts (birthplace, birth year, favourite colour,
job, pet's name and kind, number of siblings, a founded company) about each of two
invented people, in shuffled order with varied sentence templates and sometimes a
filler sentence, so the answer's position carries no signal. The question names
one person and one kind of fact; often another person in the paragraph has a fact
of the same kind, so the model has to match the name, not only the question type.
About one question in ten asks for a fact the paragraph does not state about that
person (SQuAD 2.0 style: the answer is "no answer").

People's names come from fixed pools of invented first and last names (new
pairings in every split); towns, pets and companies are built from syllables, so
most answers in the test split are words the model never saw in training. Standard library only; deterministic by seed.
"""

from __future__ import annotations

import hashlib
import random

from tasklight_qa.readers import Answer, Question

SIZES = {"train": 8000, "validation": 300, "test": 500}
UNANSWERABLE = 0.1

_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kr", "tr", "st", "th", "sh"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ei", "ou"]
_CODAS = ["", "", "n", "r", "l", "s", "th", "k", "m"]
_TOWN_ENDINGS = ["ford", "holm", "wick", "mere", "stad", "vale", "burg", "port"]
COLOURS = ["red", "blue", "green", "yellow", "purple", "orange", "grey", "white", "black", "amber",
           "teal", "crimson", "silver", "pale pink", "dark green", "sky blue"]
JOBS = ["baker", "carpenter", "doctor", "teacher", "sailor", "painter", "farmer", "lawyer", "weaver",
        "clock maker", "ship builder", "glass blower", "bee keeper", "train driver", "librarian", "potter"]
ANIMALS = ["cat", "dog", "parrot", "horse", "goat", "tortoise", "rabbit", "pony"]
NUMBERS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
COMPANY_KINDS = ["Mills", "Shipping", "Bakeries", "Brothers", "and Sons", "Trading Company", "Press", "Works"]
FILLERS = [
    "The valley is known for its long, cold winters.",
    "Most people there still travel by boat.",
    "A market is held in the square every week.",
    "The old bridge was rebuilt after a flood.",
    "Visitors often come in the summer for the festival.",
    "The river freezes almost every year.",
]

# kind -> (statement templates, question templates). {n} is the person, {a} the answer;
# other fields ({animal}) are extra values of the same fact.
FACTS: dict[str, tuple[list[str], list[str]]] = {
    "town": (["{n} was born in {a}.", "{n} grew up in the town of {a}.", "{a} is the birthplace of {n}."],
             ["Where was {n} born?", "In which town did {n} grow up?", "What is the birthplace of {n}?"]),
    "year": (["{n} was born in {a}.", "In {a}, {n} was born.", "{n}'s year of birth is {a}."],
             ["In what year was {n} born?", "When was {n} born?", "What is {n}'s year of birth?"]),
    "colour": (["{n}'s favourite colour is {a}.", "{n} likes {a} more than any other colour.", "The colour {n} loves most is {a}."],
               ["What is {n}'s favourite colour?", "Which colour does {n} like best?", "What colour does {n} love most?"]),
    "job": (["{n} works as a {a}.", "{n} earns a living as a {a}.", "By trade, {n} is a {a}."],
            ["What does {n} do for a living?", "What is {n}'s job?", "What is the trade of {n}?"]),
    "pet": (["{n} has a {animal} called {a}.", "{n}'s {animal} is named {a}.", "{a} is the name of {n}'s {animal}."],
            ["What is the name of {n}'s {animal}?", "What is {n}'s {animal} called?", "What did {n} name the {animal}?"]),
    "animal": (["{n} keeps a {a} named {pet}.", "{n} owns a {a}.", "At home, {n} looks after a {a}."],
               ["What kind of animal does {n} keep?", "What animal does {n} own?", "Which animal does {n} look after?"]),
    "siblings": (["{n} has {a} siblings.", "{n} grew up with {a} brothers and sisters.", "There are {a} siblings in {n}'s family."],
                 ["How many siblings does {n} have?", "How many brothers and sisters does {n} have?", "How many siblings are in {n}'s family?"]),
    "company": (["{n} founded {a}.", "{a} was started by {n}.", "{n} is the founder of {a}."],
                ["Which company did {n} found?", "What was started by {n}?", "What did {n} found?"]),
}
KINDS = list(FACTS)


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)).capitalize()


def _value(kind: str, rng: random.Random) -> dict[str, str]:
    if kind == "town":
        return {"a": _word(rng, rng.randint(1, 2)) + rng.choice(_TOWN_ENDINGS)}
    if kind == "year":
        return {"a": str(rng.randint(1650, 1999))}
    if kind == "colour":
        return {"a": rng.choice(COLOURS)}
    if kind == "job":
        return {"a": rng.choice(JOBS)}
    if kind == "pet":
        return {"a": _word(rng, rng.randint(1, 2)), "animal": rng.choice(ANIMALS)}
    if kind == "animal":
        return {"a": rng.choice(ANIMALS), "pet": _word(rng, 2)}
    if kind == "siblings":
        return {"a": rng.choice(NUMBERS)}
    return {"a": f"{_word(rng, 2)} {rng.choice(COMPANY_KINDS)}"}


def _name_pool(salt: str, size: int) -> list[str]:
    """A fixed list of invented names (the same for every seed and split)."""
    rng = random.Random(salt)
    pool: list[str] = []
    while len(pool) < size:
        name = _word(rng, 2)
        if name not in pool:
            pool.append(name)
    return pool


# People come from fixed pools of invented first and last names, so a name is a
# few frequent subwords that the model learns to match between question and context.
FIRST_NAMES = _name_pool("first", 120)
LAST_NAMES = _name_pool("last", 120)


def _person(rng: random.Random, taken: set[str]) -> str:
    while True:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if first not in {t.split()[0] for t in taken} and last not in {t.split()[1] for t in taken}:
            name = f"{first} {last}"
            taken.add(name)
            return name


def _paragraph(rng: random.Random, index: int, split: str) -> Question:
    taken: set[str] = set()
    people = [_person(rng, taken) for _ in range(2)]
    facts: list[tuple[str, str, dict[str, str]]] = []  # (person, kind, values)
    for person in people:
        for kind in rng.sample(KINDS, rng.randint(2, 3)):
            facts.append((person, kind, _value(kind, rng)))
    sentences: list[tuple[str, int, tuple[str, str, dict[str, str]] | None]] = []  # text, answer offset in it, fact
    for fact in facts:
        person, kind, values = fact
        template = rng.choice(FACTS[kind][0])
        text = template.format(n=person, **values)
        offset = len(template.split("{a}")[0].format(n=person, **values))
        sentences.append((text, offset, fact))
    for filler in rng.sample(FILLERS, rng.randint(0, 1)):
        sentences.append((filler, -1, None))
    rng.shuffle(sentences)

    context_parts: list[str] = []
    starts: dict[int, int] = {}  # id(fact) -> answer offset in the context
    position = 0
    for text, offset, fact in sentences:
        if fact is not None:
            starts[id(fact)] = position + offset
        context_parts.append(text)
        position += len(text) + 1
    context = " ".join(context_parts)

    qid = f"demo-{split}-{index}"
    if rng.random() < UNANSWERABLE:
        # Ask about a kind of fact this person lacks (another person may have it).
        person = rng.choice(people)
        known = {kind for p, kind, _ in facts if p == person}
        kind = rng.choice([k for k in KINDS if k not in known])
        extra = _value(kind, rng)
        question = rng.choice(FACTS[kind][1]).format(n=person, **extra)
        return Question(question, context, (), qid)
    person, kind, values = fact = rng.choice(facts)
    question = rng.choice(FACTS[kind][1]).format(n=person, **values)
    start = starts[id(fact)]
    assert context[start : start + len(values["a"])] == values["a"]
    return Question(question, context, (Answer(values["a"], start),), qid)


def demo_questions(split: str, seed: int, size: int | None = None) -> list[Question]:
    """``size`` questions (one per paragraph) of ``split``, deterministic by ``seed``."""
    key = hashlib.sha256(f"tasklight-qa-demo|{split}|{seed}".encode()).digest()
    rng = random.Random(int.from_bytes(key[:8], "big"))
    return [_paragraph(rng, i, split) for i in range(SIZES[split] if size is None else size)]
