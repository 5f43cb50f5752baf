"""Offline ``demo`` data for the intent task: templated assistant requests.

``platform run intent`` with no data trains on these. Eight intents, each with
several paraphrase templates filled from shared slot lists, so a word alone
rarely decides the label: times occur in alarms, reminders, restaurant bookings
and messages; cities in weather, directions and restaurants; contacts in
messages and reminders; "book", "music" and "dinner" appear across intents. What
decides the label is the phrasing around the slots, which is what a model has to
learn. One utterance in five starts by dismissing another intent's subject
("never mind the timer, wake me up at 7" is an alarm), so the words of a
second intent occur without deciding the label. Noise that never changes the
label is added: greetings and politeness around the request, and now and then
one typo (two swapped letters).

Every utterance has exactly one correct intent. Splits are drawn with their own
seeded generators; validation and test utterances never occur verbatim in train.
Standard library only.
"""

from __future__ import annotations

import random

INTENTS = (
    "get_weather", "set_alarm", "set_timer", "play_music",
    "add_reminder", "book_restaurant", "send_message", "get_directions",
)
DEFAULT_SIZES = {"train": 3000, "validation": 300, "test": 500}

SLOTS: dict[str, tuple[str, ...]] = {
    "city": ("london", "paris", "berlin", "tokyo", "boston", "chicago", "madrid", "rome", "seattle", "denver",
             "austin", "dublin", "oslo", "lisbon", "toronto", "sydney", "new york", "san diego"),
    "day": ("today", "tomorrow", "tonight", "this weekend", "on monday", "on tuesday", "on wednesday",
            "on thursday", "on friday", "on saturday", "on sunday", "next week", "this afternoon",
            "tomorrow morning", "this evening"),
    "time": ("6 am", "6:30", "7 am", "7:15", "8 pm", "9 o'clock", "half past seven", "noon", "midnight",
             "10:45", "5 pm", "quarter to eight", "11 am", "eight thirty", "4:20 pm"),
    "duration": ("5 minutes", "ten minutes", "30 seconds", "an hour", "two hours", "half an hour",
                 "45 minutes", "90 seconds", "three minutes", "twenty minutes"),
    "artist": ("taylor swift", "the beatles", "adele", "drake", "queen", "miles davis", "coldplay", "beyonce",
               "nirvana", "bob marley", "radiohead", "daft punk", "ella fitzgerald", "the rolling stones"),
    "song": ("yesterday", "hello", "bohemian rhapsody", "shake it off", "yellow", "one more time",
             "redemption song", "so what", "creep", "let it be"),
    "genre": ("jazz", "rock", "classical", "hip hop", "reggae", "country", "lo-fi", "blues", "pop", "dinner music",
              "workout music"),
    "chore": ("call mom", "buy milk", "pay the rent", "water the plants", "take my medicine", "pick up the kids",
              "email the landlord", "book a dentist appointment", "buy concert tickets", "text anna back",
              "renew my passport", "feed the cat", "check the weather report", "cook dinner"),
    "contact": ("mom", "dad", "anna", "john", "sarah", "my boss", "david", "emma", "the team", "lucas", "mia",
                "grandma"),
    "note": ("i am running late", "see you at {time}", "dinner is ready", "call me back when you can",
             "happy birthday", "i will be home {day}", "the meeting moved to {day}", "thanks for the music",
             "bring an umbrella", "the table is booked", "where are you", "i am stuck in traffic"),
    "cuisine": ("italian", "thai", "mexican", "indian", "sushi", "chinese", "vegan", "french", "greek", "korean"),
    "restaurant": ("luigi's", "the golden dragon", "casa maria", "the corner bistro", "spice garden",
                   "blue ocean sushi", "chez paul", "the green table"),
    "people": ("two", "three", "four", "five", "six", "2", "4", "a party of eight"),
    "place": ("the airport", "the train station", "the nearest gas station", "downtown", "the museum",
              "central park", "the hospital", "my office", "home", "the mall", "the beach", "the stadium"),
}

TEMPLATES: dict[str, tuple[str, ...]] = {
    "get_weather": (
        "what's the weather in {city} {day}",
        "what is the weather like {day}",
        "will it rain in {city} {day}",
        "do i need an umbrella {day}",
        "how hot will it be in {city} {day}",
        "give me the forecast for {city}",
        "is it going to snow {day}",
        "how cold is it in {city} right now",
        "should i wear a jacket {day} in {city}",
        "is it sunny in {city}",
    ),
    "set_alarm": (
        "wake me up at {time}",
        "wake me up {day} at {time}",
        "set an alarm for {time}",
        "set an alarm for {time} {day}",
        "i need to get up at {time} {day}",
        "alarm at {time} please",
        "make sure i am awake by {time}",
        "set my alarm to {time} with {artist}",
    ),
    "set_timer": (
        "set a timer for {duration}",
        "start a {duration} timer",
        "count down {duration}",
        "timer for {duration} for the pasta",
        "let me know when {duration} have passed",
        "put a {duration} timer on",
        "start counting down from {duration}",
    ),
    "play_music": (
        "play {song} by {artist}",
        "play some {genre}",
        "put on some {genre}",
        "i want to hear {artist}",
        "play my {genre} playlist",
        "shuffle songs by {artist}",
        "can i listen to {song}",
        "turn on {artist} in the kitchen",
        "play {artist} {day}",
    ),
    "add_reminder": (
        "remind me to {chore}",
        "remind me to {chore} at {time}",
        "remind me {day} to {chore}",
        "don't let me forget to {chore}",
        "add a reminder to {chore} {day}",
        "i have to {chore} {day}, remind me",
        "create a reminder: {chore}",
        "remind me to message {contact} at {time}",
    ),
    "book_restaurant": (
        "book a table for {people} at {restaurant}",
        "book a table for {people} at {restaurant} {day} at {time}",
        "reserve a table at {restaurant} for {time}",
        "find a {cuisine} restaurant in {city}",
        "i want to eat {cuisine} food {day}",
        "get me a reservation for {people} at a {cuisine} place",
        "is there a table free at {restaurant} {day}",
        "book dinner for {people} {day}",
    ),
    "send_message": (
        "text {contact} that {note}",
        "send a message to {contact} saying {note}",
        "tell {contact} {note}",
        "message {contact}: {note}",
        "send {contact} a text: {note}",
        "write to {contact} that {note}",
        "let {contact} know that {note}",
    ),
    "get_directions": (
        "how do i get to {place}",
        "directions to {place}",
        "navigate to {place} from {place}",
        "how far is {city} from here",
        "what's the fastest route to {place}",
        "take me to {place}",
        "show me the way to {place} avoiding traffic",
        "how long does it take to drive to {city}",
        "find a route to {restaurant}",
    ),
}

# Words that name each intent's subject; a distractor names another intent's
# ("never mind the timer, wake me up at 7" is an alarm).
SUBJECTS: dict[str, tuple[str, ...]] = {
    "get_weather": ("weather", "forecast"),
    "set_alarm": ("alarm", "wake up call"),
    "set_timer": ("timer", "countdown"),
    "play_music": ("music", "playlist"),
    "add_reminder": ("reminder", "reminders"),
    "book_restaurant": ("reservation", "table"),
    "send_message": ("message", "text"),
    "get_directions": ("directions", "route"),
}
DISTRACTORS = ("never mind the {subject},", "forget about the {subject},", "no {subject} for now,",
               "ignore the {subject} and", "not the {subject},", "skip the {subject},")

PREFIXES = ("hey", "ok", "um", "hi", "hey there", "excuse me", "so", "hello assistant", "quick one")
SUFFIXES = ("please", "thanks", "thank you", "now", "if you can", "for me")


def _fill(template: str, rng: random.Random) -> str:
    text = template
    while "{" in text:
        start = text.index("{")
        end = text.index("}", start)
        slot = text[start + 1 : end]
        text = text[:start] + rng.choice(SLOTS[slot]) + text[end + 1 :]
    return text


def _typo(text: str, rng: random.Random) -> str:
    """Swap two adjacent letters inside one word of four or more letters."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def utterance(intent: str, rng: random.Random) -> str:
    """One utterance of ``intent``, with label-preserving noise."""
    text = _fill(rng.choice(TEMPLATES[intent]), rng)
    if rng.random() < 0.2:
        other = rng.choice([i for i in INTENTS if i != intent])
        text = rng.choice(DISTRACTORS).format(subject=rng.choice(SUBJECTS[other])) + " " + text
    if rng.random() < 0.3:
        text = f"{rng.choice(PREFIXES)} {text}"
    if rng.random() < 0.25:
        text = f"{text} {rng.choice(SUFFIXES)}"
    if rng.random() < 0.1:
        text = _typo(text, rng)
    return text


def _draw(split: str, seed: int, size: int, exclude: set[str]) -> list[tuple[str, str]]:
    rng = random.Random(f"tasklight-intent-demo:{seed}:{split}")
    pairs: list[tuple[str, str]] = []
    seen = set(exclude)
    attempts = 0
    while len(pairs) < size and attempts < size * 50:
        attempts += 1
        intent = INTENTS[len(pairs) % len(INTENTS)] if split != "train" else rng.choice(INTENTS)
        text = utterance(intent, rng)
        if split != "train" and text in seen:
            continue  # evaluation utterances are never seen verbatim in training
        seen.add(text)
        pairs.append((text, intent))
    rng.shuffle(pairs)
    return pairs


def demo_pairs(split: str, seed: int, size: int | None = None) -> list[tuple[str, str]]:
    """``(text, intent)`` pairs of ``split`` (train, validation or test), deterministic by ``seed``."""
    if split not in DEFAULT_SIZES:
        raise ValueError(f"unknown split {split!r}")
    size = DEFAULT_SIZES[split] if size is None else size
    if split == "train":
        return _draw("train", seed, size, set())
    train = {text for text, _ in _draw("train", seed, DEFAULT_SIZES["train"], set())}
    held = train if split == "validation" else train | {t for t, _ in demo_pairs("validation", seed)}
    return _draw(split, seed, size, held)
