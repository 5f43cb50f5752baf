"""Generated ``demo`` data: short product, film and restaurant reviews, positive or negative.

Deterministic by seed, offline, learnable in about a minute on a laptop CPU, and not
a bag-of-words problem: a quarter of the reviews negate their opinion word ("not
good" is negative, "not bad" positive), and some contrast two opinions with "but",
where the clause after "but" decides ("the plot was dull but the acting was
superb" is positive). Validation and test reviews never occur verbatim in train.
"""

from __future__ import annotations

import random

LABELS = ("negative", "positive")
SIZES = {"train": 3000, "validation": 300, "test": 300}

SUBJECTS = (
    "the film", "the plot", "the acting", "the soundtrack", "this phone", "the battery", "the screen",
    "the service", "the food", "the pasta", "the staff", "this book", "the ending", "the hotel room",
    "the delivery", "the price", "the camera", "the dessert",
)
OPINIONS = {
    "positive": ("good", "great", "superb", "excellent", "lovely", "wonderful", "brilliant", "fantastic",
                 "pleasant", "impressive", "fun", "delicious"),
    "negative": ("bad", "awful", "terrible", "dull", "poor", "boring", "horrible", "disappointing",
                 "bland", "annoying", "weak", "broken"),
}
INTENSIFIERS = ("", "", "", "really ", "very ", "quite ", "truly ", "so ")
FRAMES = ("{s} was {i}{o}", "{s} is {i}{o}", "i found {s} {i}{o}", "honestly , {s} was {i}{o}",
          "{s} turned out {i}{o}", "in my opinion {s} is {i}{o}")
NEGATED = ("{s} was not {o}", "{s} is not {i}{o} at all", "i would not call {s} {o}", "{s} was never {o}")
ENDINGS = ("", "", "", " .", " !", " , i would say", " overall")
OTHER = {"positive": "negative", "negative": "positive"}


def clause(label: str, rng: random.Random) -> str:
    """A clause whose sentiment is ``label``: a plain opinion, or a negated opposite one."""
    subject, intensity = rng.choice(SUBJECTS), rng.choice(INTENSIFIERS)
    if rng.random() < 0.25:
        opinion = rng.choice(OPINIONS[OTHER[label]])
        return rng.choice(NEGATED).format(s=subject, i=intensity, o=opinion)
    return rng.choice(FRAMES).format(s=subject, i=intensity, o=rng.choice(OPINIONS[label]))


def review(label: str, rng: random.Random) -> str:
    if rng.random() < 0.2:  # a contrast: the clause after "but" decides
        return f"{clause(OTHER[label], rng)} but {clause(label, rng)}{rng.choice(ENDINGS)}"
    return f"{clause(label, rng)}{rng.choice(ENDINGS)}"


def examples(split: str, seed: int) -> list[tuple[str, str]]:
    """``(text, label)`` pairs of ``split`` (train, validation or test), deterministic by ``seed``."""
    if split not in SIZES:
        raise ValueError(f"unknown split {split!r}")
    seen: set[str] = set()
    if split != "train":
        seen = {text for text, _ in examples("train", seed)}
        if split == "test":
            seen |= {text for text, _ in examples("validation", seed)}
    rng = random.Random(f"tasklight-sentiment-demo:{seed}:{split}")
    pairs: list[tuple[str, str]] = []
    while len(pairs) < SIZES[split]:
        label = LABELS[len(pairs) % 2] if split != "train" else rng.choice(LABELS)  # balanced evaluation
        text = review(label, rng)
        if split != "train" and text in seen:
            continue
        seen.add(text)
        pairs.append((text, label))
    rng.shuffle(pairs)
    return pairs
