"""Offline ``demo`` text for the generation task: short generated stories.

Each document is a few sentences about one person, written from a small grammar
with structure a language model can learn in minutes on a CPU, so that its bits
per character end well below a unigram model of the same text:

* agreement: the verb follows the number of the head noun, not of the nearer
  noun ("The small cat near the dogs sleeps." / "The small cats near the dog
  sleep."); "one cat" but "three cats";
* pronouns: every "she"/"he"/"her"/"his" in a story matches its person;
* counting: "Tom counts from four to seven: four, five, six, seven.";
* copying: "Anna says: red cup, old key. She says it again: red cup, old key.";
* small sums: "Tom has five apples. He gets two more. Now he has seven apples.";
* sequences: "After Monday comes Tuesday."

Standard library only; deterministic for (split, seed, size).
"""

from __future__ import annotations

import random

DEFAULT_SIZES = {"train": 3000, "validation": 300, "test": 300}
SPLITS = ("train", "validation", "test")

PEOPLE = {
    "Anna": "f", "Maria": "f", "Lucy": "f", "Emma": "f", "Sara": "f", "Julia": "f", "Nora": "f",
    "Tom": "m", "Peter": "m", "Jack": "m", "David": "m", "Paul": "m", "Max": "m", "Leo": "m",
}
PRONOUN = {"f": ("she", "her"), "m": ("he", "his")}

NOUNS = {  # singular -> plural
    "cat": "cats", "dog": "dogs", "fox": "foxes", "box": "boxes", "bird": "birds", "child": "children",
    "mouse": "mice", "horse": "horses", "apple": "apples", "book": "books", "cup": "cups", "key": "keys",
}
ANIMATE = ("cat", "dog", "fox", "bird", "child", "mouse", "horse")
VERBS = {  # third person singular -> plural
    "sleeps": "sleep", "runs": "run", "jumps": "jump", "sings": "sing", "waits": "wait",
    "hides": "hide", "plays": "play", "eats": "eat",
}
ADVERBS = ("quietly", "slowly", "happily", "again", "all day", "at night")
ADJECTIVES = ("small", "big", "old", "young", "happy", "quiet", "red", "blue", "green", "brown")
PREPOSITIONS = ("near", "behind", "with", "under")
PLACES = ("the garden", "the kitchen", "the park", "the forest", "the market", "the school", "the river")
NUMBERS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def counted(n: int, noun: str) -> str:
    """'one cat', 'three cats'."""
    return f"{NUMBERS[n]} {noun if n == 1 else NOUNS[noun]}"


def capital(sentence: str) -> str:
    return sentence[0].upper() + sentence[1:]


class _Story:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.name = rng.choice(sorted(PEOPLE))
        self.she, self.her = PRONOUN[PEOPLE[self.name]]
        self.other = rng.choice([n for n in sorted(PEOPLE) if n != self.name])

    def agreement(self) -> str:
        rng = self.rng
        head, near = rng.choice(ANIMATE), rng.choice(sorted(NOUNS))
        head_plural, near_plural = rng.random() < 0.5, rng.random() < 0.5
        verb = rng.choice(sorted(VERBS))
        subject = NOUNS[head] if head_plural else head
        other = NOUNS[near] if near_plural else near
        return (
            f"The {rng.choice(ADJECTIVES)} {subject} {rng.choice(PREPOSITIONS)} the {other} "
            f"{VERBS[verb] if head_plural else verb} {rng.choice(ADVERBS)}."
        )

    def counting(self) -> str:
        rng = self.rng
        start = rng.randint(1, 14)
        stop = start + rng.randint(2, 5)
        numbers = ", ".join(NUMBERS[i] for i in range(start, stop + 1))
        return f"{self.name} counts from {NUMBERS[start]} to {NUMBERS[stop]}: {numbers}."

    def copying(self) -> str:
        rng = self.rng
        words = ", ".join(f"{rng.choice(ADJECTIVES)} {rng.choice(sorted(NOUNS))}" for _ in range(rng.randint(2, 3)))
        return f"{self.name} says: {words}. {capital(self.she)} says it again: {words}."

    def sums(self) -> str:
        rng = self.rng
        noun = rng.choice(("apple", "book", "cup", "key", "box"))
        have, more = rng.randint(1, 10), rng.randint(1, 5)
        return (
            f"{self.name} has {counted(have, noun)}. {capital(self.she)} gets {NUMBERS[more]} more. "
            f"Now {self.she} has {counted(have + more, noun)}."
        )

    def gift(self) -> str:
        rng = self.rng
        noun = rng.choice(sorted(NOUNS))
        return (
            f"{self.name} gives {self.her} {rng.choice(ADJECTIVES)} {noun} to {self.other}, "
            f"and {self.other} thanks {'her' if self.she == 'she' else 'him'}."
        )

    def days(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            i = rng.randrange(7)
            return f"After {DAYS[i]} comes {DAYS[(i + 1) % 7]}."
        i = rng.randrange(12)
        return f"After {MONTHS[i]} comes {MONTHS[(i + 1) % 12]}."

    def text(self) -> str:
        rng = self.rng
        parts = [f"{self.name} is in {rng.choice(PLACES)}."]
        makers = (self.agreement, self.counting, self.copying, self.sums, self.gift, self.days)
        for _ in range(rng.randint(3, 6)):
            parts.append(rng.choice(makers)())
        return " ".join(parts)


def demo_texts(split: str, seed: int, size: int) -> list[str]:
    """``size`` generated stories for ``split``, each from its own seeded stream."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    rng = random.Random(f"tasklight-generation-demo-{seed}-{split}")
    return [_Story(rng).text() for _ in range(size)]
