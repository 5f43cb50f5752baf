"""Offline ``demo`` data for summarization: short meeting-planning dialogues.

``platform run summarization`` with no data trains on these. Each document is a
DialogSum-style dialogue (``#Person1#: ...`` turns, one per line) in which two
people arrange a meeting. The summary is not a copy of any sentence: it states
the agreed facts in the third person, with the speakers' names, for example::

    #Person1#: Good morning, it is Wendy and I need Leo for a minute.
    #Person1#: We need to talk about the supplier contract soon. Are you free on Saturday for that?
    #Person2#: Sorry, I am busy on Saturday all day. What about Thursday instead?
    #Person1#: Sure, Thursday works.
    #Person1#: Can you make it at 2 pm on that day?
    #Person2#: No, I have a call then. 4:30 pm is better.
    #Person2#: I will bring the draft to the meeting.
    #Person1#: My brother Oscar is visiting next week.

    -> "Leo cannot meet on Saturday so Wendy and Leo will meet on Thursday at 4:30 pm
        about the supplier contract. Leo will bring the draft."

What a model has to learn: who is who (names appear once, in the first turn; the
dialogue then says "I" and "you"), which day and time were agreed (a rejected day
or time comes first and must not be picked), the optional place and who brings
what, and to ignore one or two distractor turns (weather, lunch, a relative with
another name, a past day). Slot values are followed by a space, not punctuation,
where the text allows: the subword tokenizer keeps punctuation on the word
("Ben," is another token than "Ben"), and copying is easier with equal tokens.

For scale: a constant summary ("Anna and Ben will meet on Monday at 3 pm about
the budget.") scores ROUGE-Lsum 47 on the test split, the right names with
random other facts 58.

Standard library only; deterministic by (seed, split).
"""

from __future__ import annotations

import random
from functools import lru_cache

SIZES = {"train": 20000, "validation": 500, "test": 500}

NAMES = (
    "Anna", "Ben", "Carla", "David", "Emma", "Felix", "Grace", "Henry", "Iris", "Jack",
    "Kate", "Leo", "Maria", "Nick", "Olivia", "Paul", "Rosa", "Sam", "Tina", "Victor",
    "Wendy", "Yusuf", "Zoe", "Omar", "Lucy", "Mark", "Nina", "Oscar", "Priya", "Raj",
    "Sara", "Tom", "Uma", "Vera", "Will", "Amir", "Bella", "Chen", "Dora", "Eric",
)
TOPICS = (
    "budget", "product launch", "hiring plan", "sales report", "website redesign",
    "team offsite", "quarterly review", "marketing campaign", "customer survey",
    "office move", "training schedule", "supplier contract", "security audit",
    "holiday party", "new logo", "travel policy", "project timeline", "annual report",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TIMES = (
    "9 am", "10 am", "11 am", "noon", "1 pm", "2 pm", "3 pm", "4 pm", "5 pm",
    "9:30 am", "10:30 am", "2:30 pm", "4:30 pm",
)
PLACES = (  # with their preposition, as both the dialogue and the summary use them
    "in room 4", "in room 12", "in room 7", "at the cafe", "in the library",
    "in the main office", "in the lab", "on a video call", "at the hotel lobby",
)
ITEMS = (
    "the slides", "the contract", "the figures", "the laptop", "the agenda",
    "the samples", "the budget sheet", "the projector", "the photos", "the draft",
)
RELATIVES = ("sister", "brother", "cousin", "aunt", "uncle", "friend")
FOODS = ("pasta", "a sandwich", "sushi", "a salad", "soup", "pizza", "curry")


def _greeting(r: random.Random, a: str, b: str) -> str:
    # Names are followed by a space, never by punctuation: the subword tokenizer keeps
    # punctuation on the word ("Ben," is not "Ben"), so the summary can copy the same tokens.
    return "#Person1#: " + r.choice((
        f"This is {a} calling for {b} about a meeting.",
        f"Hello, {a} here for {b} with a quick question.",
        f"Good morning, it is {a} and I need {b} for a minute.",
    ))


def _distractors(r: random.Random, count: int, other: str, day: str) -> list[str]:
    """``count`` different off-topic turns; a relative's name or a past day are traps."""
    other_day = r.choice([d for d in DAYS if d != day])
    texts = (
        "By the way, the weather is awful today.",
        "Did you see the game last night?",
        f"I had {r.choice(FOODS)} for lunch.",
        f"My {r.choice(RELATIVES)} {other} is visiting next week.",
        "The coffee machine is broken again.",
        f"I was sick last {other_day} and stayed home.",
        "My train was late this morning.",
    )
    return [f"{r.choice(('#Person1#', '#Person2#'))}: {text}" for text in r.sample(texts, count)]


def make_dialogue(r: random.Random) -> tuple[str, str]:
    """One (document, summary) pair drawn from ``r``."""
    a, b, other = r.sample(NAMES, 3)
    topic, day, time = r.choice(TOPICS), r.choice(DAYS), r.choice(TIMES)
    blocks: list[list[str]] = []
    extra: list[str] = []  # summary sentences after the first

    # The day, possibly after a rejected one.
    ask = r.choice([d for d in DAYS if d != day]) if r.random() < 0.35 else day
    asked = r.choice((
        f"We need to talk about the {topic} soon. Are you free on {ask} for that?",
        f"Could we meet on {ask} to go over the {topic} together?",
        f"I want to discuss the {topic} with you. How about {ask} then?",
    ))
    before = ""  # a rejected day opens the summary
    if ask != day:
        refuse = r.choice((f"Sorry, I am busy on {ask} all day. What about {day} instead?", f"I am busy on {ask} all day. Can we do {day} instead?"))
        agree = r.choice((f"{day} is fine.", f"Sure, {day} works."))
        blocks.append([f"#Person1#: {asked}", f"#Person2#: {refuse}", f"#Person1#: {agree}"])
        before = f"{b} cannot meet on {ask} so "
    else:
        agree = r.choice((f"Yes, {day} is good.", f"Sure, {day} works for me."))
        blocks.append([f"#Person1#: {asked}", f"#Person2#: {agree}"])

    # The time, possibly after a rejected one.
    if r.random() < 0.25:
        wrong = r.choice([t for t in TIMES if t != time])
        blocks.append([
            f"#Person1#: Can you make it at {wrong} on that day?",
            f"#Person2#: No, I have a call then. {time} is better.",
        ])
    elif r.random() < 0.5:
        blocks.append(["#Person2#: What time suits you?", f"#Person1#: Let's say {time} then."])
    else:
        blocks.append([f"#Person2#: Shall we meet at {time} then?", "#Person1#: Yes, good idea."])

    place = r.choice(PLACES) if r.random() < 0.5 else ""
    if place:
        speaker = r.choice(("#Person1#", "#Person2#"))
        blocks.append([f"{speaker}: {r.choice(('Let us meet', 'We can meet', 'How about meeting'))} {place} if that is okay."])

    if r.random() < 0.6:
        item = r.choice(ITEMS)
        style = r.randrange(3)
        if style == 0:
            blocks.append([f"#Person2#: I will bring {item} to the meeting."])
            extra.append(f"{b} will bring {item}.")
        elif style == 1:
            blocks.append([f"#Person1#: Can you bring {item} to the meeting?", "#Person2#: Of course."])
            extra.append(f"{b} will bring {item}.")
        else:
            blocks.append([f"#Person1#: I will bring {item} to the meeting."])
            extra.append(f"{a} will bring {item}.")

    # Distractor turns go between blocks, never inside one.
    for turn in _distractors(r, r.randint(1, 2), other, day):
        blocks.insert(r.randint(0, len(blocks)), [turn])
    turns = [_greeting(r, a, b)] + [turn for block in blocks for turn in block]

    where = f" {place}" if place else ""
    first = f"{before}{a} and {b} will meet on {day} at {time}{where} about the {topic}."
    return "\n".join(turns), " ".join([first, *extra])


def demo_pairs(split: str, seed: int, size: int | None = None) -> list[tuple[str, str]]:
    """``size`` (document, summary) pairs of ``split``; validation and test never repeat a train document."""
    if split not in SIZES:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SIZES)}")
    count = SIZES[split] if size is None else size
    r = random.Random(f"tasklight-summarization-demo:{seed}:{split}")
    pairs = [make_dialogue(r) for _ in range(count)]
    if split != "train":
        train = _train_documents(seed)
        pairs = [p for p in pairs if p[0] not in train]
    return pairs


@lru_cache(maxsize=4)
def _train_documents(seed: int) -> frozenset[str]:
    return frozenset(doc for doc, _ in demo_pairs("train", seed))
