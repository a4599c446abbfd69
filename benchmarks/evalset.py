"""A deterministic evaluation set: long multi-session chats with planted facts and questions.

`build_evalset(sessions=300, seed=7)` returns messages (in the `memory import` JSON Lines
shape) and questions, each with the ids of the messages that hold its answer (evidence).
Question categories:
  fact        a fact stated once ("my sister is called Ingrid")
  changed     a fact that changed later; the evidence is the newest statement
  preference  how the user likes things
  event       something that happened on a date; asked by date or by what happened
  answer      a short reply whose meaning lives in the assistant's question before it
  two_hop     needs two messages from different sessions
Filler chat reuses the same vocabulary (other people's dogs, other cities) as distractors.
Used by recall_quality.py and reusable by the growth benchmark (issue 5).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)

NAMES = [
    "Ingrid",
    "Tomas",
    "Priya",
    "Mateo",
    "Yuki",
    "Olena",
    "Kwame",
    "Sofia",
    "Farid",
    "Lena",
    "Bruno",
    "Aiko",
    "Dmitri",
    "Chloe",
    "Rafael",
    "Nadia",
    "Hugo",
    "Zara",
    "Emil",
    "Leila",
    "Oscar",
    "Mira",
    "Jonas",
    "Amara",
]
PETS = ["Biscuit", "Pepper", "Mochi", "Rex", "Luna", "Ziggy", "Nutmeg", "Otis", "Pixel", "Waffles", "Juniper"]
BREEDS = ["border collie", "dachshund", "greyhound", "beagle", "shiba inu", "labrador", "whippet", "corgi"]
CITIES = ["Lisbon", "Porto", "Utrecht", "Valencia", "Krakow", "Ghent", "Bologna", "Tallinn", "Lyon", "Aarhus"]
JOBS = [
    "pharmacist",
    "carpenter",
    "data analyst",
    "primary school teacher",
    "nurse",
    "architect",
    "baker",
    "civil engineer",
    "translator",
    "physiotherapist",
    "accountant",
    "chef",
]
FOODS = ["ramen", "shakshuka", "mushroom risotto", "pad thai", "falafel wraps", "lentil soup", "paella", "pierogi"]
ALLERGENS = ["shellfish", "peanuts", "sesame", "kiwi", "penicillin", "cats", "pollen", "latex"]
HOBBIES = [
    "bouldering",
    "pottery",
    "birdwatching",
    "sourdough baking",
    "chess",
    "salsa dancing",
    "woodworking",
    "trail running",
    "watercolour painting",
    "beekeeping",
]
INSTRUMENTS = ["cello", "ukulele", "piano", "trumpet", "bass guitar", "violin", "drums"]
CARS = [
    "a red Fiat Panda",
    "a blue Skoda Octavia",
    "an old Volvo estate",
    "a green Renault Zoe",
    "a white Toyota Yaris",
]
PROFESSIONS = ["dentist", "firefighter", "pilot", "vet", "lawyer", "electrician", "journalist", "plumber"]
EVENTS = [
    ("ran the {city} half marathon", "run a race"),
    ("went to my cousin's wedding in {city}", "attend a wedding"),
    ("had knee surgery at the {city} hospital", "have surgery"),
    ("adopted a kitten from the {city} shelter", "adopt an animal"),
    ("passed my driving test in {city}", "pass a test"),
    ("gave a talk at a conference in {city}", "give a talk"),
    ("moved my grandmother into a care home in {city}", "help a relative move"),
    ("saw a jazz concert at the {city} opera house", "see a concert"),
]
SEAT = ["aisle seats", "window seats", "seats near the exit row"]
STYLE = [
    "short bullet-point answers",
    "detailed explanations with examples",
    "answers without emojis",
    "replies in a formal tone",
    "answers that start with the conclusion",
]
DRINKS = ["oat milk flat whites", "green tea without sugar", "black coffee", "sparkling water with lemon"]

FILLER_USER = [
    "Can you help me plan meals for the week?",
    "My colleague's {breed} kept barking during the call today, so annoying.",
    "I read that {city} is getting more expensive every year.",
    "What's a good way to stay focused in the afternoon?",
    "I watched a documentary about {hobby} last night.",
    "A friend of mine works as a {job} and says it's stressful.",
    "Any tips for sleeping better when it's hot?",
    "I need to buy a birthday present for someone at work.",
    "The neighbours are renovating again, the noise is unbelievable.",
    "How do I fix a squeaky door hinge?",
    "My friend is allergic to {allergen}, what snacks are safe for a party?",
    "Should I learn the {instrument} or is it too late at my age?",
    "We talked about maybe visiting {city} next year.",
    "I tried a recipe for {food} but it came out bland.",
    "What's the difference between a {job} and a consultant, pay-wise?",
    "The train was late again this morning.",
    "Can you summarise the news about electric cars?",
    "I keep forgetting to water the plants.",
    "Give me a quick stretching routine for desk work.",
    "Do you think {hobby} is expensive to start?",
]
FILLER_ASSISTANT = [
    "Sure, here is a simple plan you can adapt.",
    "That sounds frustrating; noise-cancelling headphones might help.",
    "Here are a few ideas that usually work well.",
    "Good question. It depends on a few things.",
    "I'd start small and build the habit gradually.",
    "That's understandable. Would you like some options?",
    "Here's a short overview of the main points.",
    "A few practical tips: keep it simple and consistent.",
]


@dataclass
class Question:
    id: str
    text: str
    category: str
    evidence: list[str]


@dataclass
class EvalSet:
    messages: list[dict[str, Any]] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    end: datetime = START

    def categories(self) -> list[str]:
        return sorted({question.category for question in self.questions})


def session_time(index: int, sessions: int) -> datetime:
    return START + timedelta(days=index * 365 / sessions, hours=(index * 7) % 10)


def build_evalset(sessions: int = 300, seed: int = 7) -> EvalSet:
    """Sessions spread over a year, about ten messages each, with planted evidence and questions."""
    rng = random.Random(seed)
    plans: dict[int, list[tuple[str, str, str | None]]] = {i: [] for i in range(sessions)}
    # Each planted turn gets a tag; questions refer to tags, resolved to message ids at the end.
    questions: list[tuple[str, str, list[str]]] = []
    tag_count = 0

    def plant(session: int, role: str, text: str) -> str:
        nonlocal tag_count
        tag_count += 1
        tag = f"t{tag_count}"
        plans[session].append((role, text, tag))
        return tag

    def some_session(low: float = 0.0, high: float = 1.0) -> int:
        return rng.randrange(int(low * sessions), max(int(low * sessions) + 1, int(high * sessions)))

    people = rng.sample(NAMES, len(NAMES))
    relations = ["sister", "brother", "best friend", "manager", "cousin", "flatmate", "partner", "piano teacher"]
    for relation in relations:
        name = people.pop()
        tag = plant(some_session(), "user", f"By the way, my {relation} is called {name}.")
        questions.append((f"What is the name of my {relation}?", "fact", [tag]))

    pet, breed = rng.choice(PETS), rng.choice(BREEDS)
    s = some_session(0, 0.3)
    plant(s, "assistant", "What kind of dog did you end up getting?")
    tag = plant(s, "user", f"A {breed}! We named him {pet}.")
    questions.append(("What breed is my dog?", "answer", [tag]))
    questions.append(("What is my dog's name?", "fact", [tag]))

    short_answers = [
        (
            "Which instrument are you learning at the moment?",
            "The {x}, twice a week.",
            INSTRUMENTS,
            "Which musical instrument am I learning?",
        ),
        ("What car do you drive these days?", "Oh, {x}.", CARS, "What car do I drive?"),
        ("What's your go-to comfort food?", "Honestly {x}.", FOODS, "What is my favourite comfort food?"),
        (
            "What hobby did you pick up this winter?",
            "{x}, I'm hooked.",
            HOBBIES,
            "Which hobby did I start this winter?",
        ),
        ("Where did you grow up?", "In {x}, near the river.", CITIES, "In which city did I grow up?"),
        ("What do you usually drink in the morning?", "Mostly {x}.", DRINKS, "What do I drink in the morning?"),
    ]
    for question, reply, pool, asked in short_answers:
        s = some_session()
        plant(s, "assistant", question)
        tag = plant(s, "user", reply.format(x=rng.choice(pool)))
        questions.append((asked, "answer", [tag]))

    allergen = rng.choice(ALLERGENS)
    tag = plant(some_session(0, 0.5), "user", f"Please remember I'm allergic to {allergen}.")
    questions.append(("What am I allergic to?", "fact", [tag]))

    # Changed facts: the newest statement is the answer.
    jobs = rng.sample(JOBS, 3)
    first = plant(some_session(0, 0.2), "user", f"I work as a {jobs[0]} at a small company.")
    second = plant(some_session(0.3, 0.5), "user", f"Big news: I quit and started working as a {jobs[1]}.")
    third = plant(some_session(0.7, 0.9), "user", f"I changed careers again, I'm a {jobs[2]} now.")
    questions.append(("What is my current job?", "changed", [third]))
    questions.append(("What job did I have before my current one?", "changed", [second]))
    del first
    homes = rng.sample(CITIES, 2)
    plant(some_session(0, 0.3), "user", f"I live in {homes[0]} with my partner.")
    moved = plant(some_session(0.6, 0.9), "user", f"We finally moved, we live in {homes[1]} now.")
    questions.append(("Which city do I live in now?", "changed", [moved]))
    gyms = rng.sample(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"], 2)
    plant(some_session(0, 0.4), "user", f"My climbing gym session is every {gyms[0]} evening.")
    gym = plant(some_session(0.5, 0.95), "user", f"I moved my climbing session to {gyms[1]} evenings.")
    questions.append(("On which evening do I go climbing?", "changed", [gym]))

    for pool, phrase, asked in (
        (SEAT, "When I fly I always prefer {x}.", "What kind of seat do I like on planes?"),
        (STYLE, "I prefer {x} from you.", "How do I like you to format answers?"),
        (FOODS, "For dinner recommendations, I love {x} the most.", "Which dinner do I love the most?"),
        (HOBBIES, "On weekends I'd rather do {x} than anything else.", "What do I like doing on weekends?"),
    ):
        tag = plant(some_session(), "user", phrase.format(x=rng.choice(pool)))
        questions.append((asked, "preference", [tag]))

    # Dated events, asked by what happened and by month.
    for template, kind in rng.sample(EVENTS, len(EVENTS)):
        s = some_session()
        when = session_time(s, sessions)
        tag = plant(s, "user", "Yesterday I " + template.format(city=rng.choice(CITIES)) + ".")
        questions.append((f"When did I {kind}?", "event", [tag]))
        month = (when - timedelta(days=1)).strftime("%B %Y")
        questions.append((f"What did I do in {month}?", "event", [tag]))

    # Two hops: who someone is, and what happened with them, in different sessions.
    plans_out = [
        "birthday party",
        "barbecue",
        "book club",
        "housewarming",
        "garage sale",
        "retirement party",
        "wine tasting",
        "chess night",
        "garden party",
        "baby shower",
        "quiz night",
        "farewell dinner",
    ]
    for plan in rng.sample(plans_out, len(plans_out)):
        name, profession = people.pop(), rng.choice(PROFESSIONS)
        a = plant(some_session(0, 0.5), "user", f"My neighbour {name} is a {profession}.")
        b = plant(some_session(0.5, 1.0), "user", f"I'm going to {name}'s {plan} on Saturday.")
        questions.append((f"What does the person whose {plan} I'm going to do for a living?", "two_hop", [a, b]))

    # Fill every session with chit-chat around the planted turns.
    evalset = EvalSet()
    tag_ids: dict[str, str] = {}
    for index in range(sessions):
        turns: list[tuple[str, str, str | None]] = []
        for _ in range(rng.randint(3, 5)):
            user_text = rng.choice(FILLER_USER).format(
                breed=rng.choice(BREEDS),
                city=rng.choice(CITIES),
                hobby=rng.choice(HOBBIES),
                job=rng.choice(JOBS),
                allergen=rng.choice(ALLERGENS),
                instrument=rng.choice(INSTRUMENTS),
                food=rng.choice(FOODS),
            )
            turns.append(("user", user_text, None))
            turns.append(("assistant", rng.choice(FILLER_ASSISTANT), None))
        planted = plans[index]
        position = rng.randrange(0, len(turns) + 1, 2)
        turns[position:position] = planted
        moment = session_time(index, sessions)
        for number, (role, text, tag) in enumerate(turns):
            message_id = f"s{index:04d}-m{number:02d}"
            if tag:
                tag_ids[tag] = message_id
            evalset.messages.append(
                {
                    "id": message_id,
                    "session_id": f"session-{index:04d}",
                    "role": role,
                    "speaker": "Robin" if role == "user" else "assistant",
                    "content": text,
                    "timestamp": (moment + timedelta(minutes=2 * number)).isoformat().replace("+00:00", "Z"),
                }
            )
        evalset.end = moment + timedelta(hours=1)
    for number, (text, category, tags) in enumerate(questions):
        evalset.questions.append(Question(f"q{number:03d}", text, category, [tag_ids[tag] for tag in tags]))
    return evalset
