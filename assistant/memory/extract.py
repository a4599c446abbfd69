"""Turn what the user says into candidate memories.

Two sources feed the same `Candidate` type:

* `extract_explicit` — deterministic rules for the statements people make about themselves
  ("my name is", "I live in", "I'm allergic to", "call me", "I prefer", plans with dates).
  Memory stays right even when the chat model is tiny.
* `extract_with_model` — JSON-schema constrained LLM extraction for everything else, whose
  items are kept only when they are grounded in the user's own words.

Every candidate speaks about the user in the third person ("User lives in Lisbon") and
carries a normalized `key` ("user.home"): a restatement yields the same key and text, so the
engine reinforces; a new value for a key makes the engine supersede the old memory.
A candidate with `retracts=True` says the keyed fact is no longer true.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, Field, field_validator

from assistant.errors import AssistantError
from assistant.llm.runner import ChatMessage, GenerationCancelled
from assistant.memory.dates import CALENDAR_DATE, MONTH_NAMES, MONTHS, NUMBER_WORDS, find_dates, resolve_dates
from assistant.memory.language import (
    article,
    content_stems,
    normalize_text,
    singular,
    slug,
    smart_title,
    stem,
    to_first_person,
    to_third_person,
    upper_first,
)
from assistant.memory.redact import redact
from assistant.memory.types import Kind, Origin

__all__ = [
    "EXTRACTION_SCHEMA",
    "Candidate",
    "ExtractedItem",
    "ExtractionOutput",
    "ExtractionResult",
    "build_extraction_messages",
    "extract_explicit",
    "extract_with_model",
    "merge_candidates",
    "model_additions",
    "normalize_key",
    "remember_candidates",
]


@dataclass
class Candidate:
    kind: Kind
    text: str
    key: str | None
    importance: float
    confidence: float
    origin: Origin
    source_ids: list[str]
    value: str | None = None
    retracts: bool = False  # "I don't live in Paris anymore": end the keyed fact (if its value matches)


# -- sentences and clauses ------------------------------------------------------------------

_ABBREVIATIONS = ("mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "vs", "etc", "e.g", "i.e", "mt", "ft")
_QUESTION_START = re.compile(
    r"(?i)^(?:do|does|did|am|is|are|was|were|can|could|would|will|should|shall|have|has|had|what|where|who|whom|"
    r"whose|when|why|how|which)\b"
)
_HYPOTHETICAL = re.compile(
    r"(?i)\b(?:if|suppose|supposing|imagine|imagining|pretend|pretending|hypothetically|what if|let's say|"
    r"lets say|say that|wish|wished|in a story|role-?play|character|dreamt|dreamed|dream that|unless|whether)\b"
)
_REPORTED = re.compile(
    r"(?i)\b(?:said|says|say|told|tells|tell|think|thinks|thought|believe|believes|claim|claims|claimed|asked|"
    r"asks|mentioned|wrote|writes|heard|according to|quote|quoted|reckons|assumes|assumed|guess|guessed)\b"
)
_INTERJECTIONS = re.compile(
    r"(?i)^(?:(?:actually|well|oh|ok|okay|so|and|but|also|btw|by the way|fyi|just so you know|for the record|"
    r"for your information|hey|hi|hello|yes|yeah|yep|yup|no|nope|now|anyway|anyways|as you know|as i said|"
    r"as i mentioned|just fyi|note that|to be clear|for context|in fact|fun fact|update|good morning|"
    r"good evening|greetings|right|alright|um|uh|hmm|sure|also worth noting|quick update|heads up|"
    r"remember(?: that)?|please remember(?: that)?|don't forget(?: that)?|just|oh and|and also)\b[\s,:;!.\-]*)+"
)


def _ends_with_abbreviation(text: str) -> bool:
    return text.rsplit(" ", 1)[-1].lower() in _ABBREVIATIONS


def _sentences(text: str) -> list[str]:
    pieces: list[str] = []
    for line in normalize_text(text).split("\n"):
        start = 0
        for match in re.finditer(r"[.!?;]+(?=\s|$)|\s+-\s+", line):
            if match.group(0) == "." and _ends_with_abbreviation(line[start : match.start()]):
                continue
            pieces.append(line[start : match.end()].strip())
            start = match.end()
        pieces.append(line[start:].strip())
    return [piece for piece in pieces if piece and any(char.isalnum() for char in piece)]


_CLAUSE_BREAK = re.compile(
    r"(?i)(?:\s*,\s*(?:and|but|so|plus|also|and also)?\s*|\s+(?:and|but|so|plus|and also|also)\s+)"
    r"(?=(?:i|i'm|i've|i'd|i'll|my|call me|please)\b)"
)


def _is_question(sentence: str) -> bool:
    return sentence.rstrip().endswith("?") or bool(_QUESTION_START.match(_strip_interjections(sentence)))


def _strip_interjections(clause: str) -> str:
    return _INTERJECTIONS.sub("", clause).strip()


@dataclass
class _Clause:
    text: str  # interjections stripped, trailing punctuation kept
    before: str  # the sentence text before this clause


def _clauses(text: str) -> list[_Clause]:
    clauses: list[_Clause] = []
    for sentence in _sentences(text):
        if _is_question(sentence):
            continue
        start = 0
        spans: list[tuple[int, int]] = []
        for match in _CLAUSE_BREAK.finditer(sentence):
            spans.append((start, match.start()))
            start = match.end()
        spans.append((start, len(sentence)))
        for begin, end in spans:
            body = _strip_interjections(sentence[begin:end].strip())
            if body:
                clauses.append(_Clause(body, sentence[:begin]))
    return clauses


# -- values ---------------------------------------------------------------------------------

_VALUE_END = re.compile(
    r"(?i)\s*(?:[,.;!?()\"]|\s-\s|\s(?:and|but|because|since|so|which|who|where|when|while|though|although|"
    r"until|unless|if|whereas|or|as well|anymore|any more|these days|nowadays|at the moment|right now|"
    r"currently|lately|for now|too|now|haha|lol|btw|by the way|though|thanks|thank you|please|"
    r"with|for|since|ever since|in case|last|next|ago|yesterday|recently|around|about|a few|a couple|"
    r"in (?:19|20)\d\d|(?:one|two|three|four|five|six|\d+) (?:years?|months?|weeks?|days?))\b)"
)
_DETERMINER_START = re.compile(
    r"(?i)^(?:it|that|this|these|those|them|you|your|yours|him|her|what|how|when|which|"
    r"who|whom|everything|nothing|anything|something|everyone|someone|one|some|any)\b"
)


def _cut(text: str, *, max_words: int = 6, stop: re.Pattern[str] = _VALUE_END) -> str:
    end = next((match.start() for match in stop.finditer(text) if not _inside_a_name(text, match)), len(text))
    value = text[:end]
    value = value.strip(" '\"-:")
    parts = value.split()
    if not parts or len(parts) > max_words:
        return ""
    return " ".join(parts)


def _inside_a_name(text: str, stop: re.Match[str]) -> bool:
    """A full stop that belongs to the value: "St. Mary's hospital", "Amazon.com"."""
    if stop.group(0).strip() != ".":
        return False
    after = text[stop.end() :]
    if after[:1].isalnum():
        return True
    return _ends_with_abbreviation(text[: stop.start()]) and bool(after.strip())


def _strip_article(text: str) -> str:
    return re.sub(r"(?i)^(?:a|an|the|some)\s+", "", text)


def _items(text: str) -> list[str]:
    """'peanuts, shellfish and eggs' -> three items."""
    parts = re.split(r"(?i)\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+|\s*/\s*", text)
    return [part.strip() for part in parts if part.strip()]


# -- lexicons -------------------------------------------------------------------------------

_NATIONALITIES = frozenset(
    "american|british|english|scottish|welsh|irish|canadian|australian|mexican|brazilian|argentinian|"
    "argentine|chilean|colombian|peruvian|venezuelan|cuban|portuguese|spanish|french|german|italian|dutch|"
    "belgian|swiss|austrian|polish|czech|slovak|hungarian|romanian|bulgarian|greek|turkish|russian|"
    "ukrainian|swedish|norwegian|danish|finnish|icelandic|estonian|latvian|lithuanian|serbian|croatian|"
    "bosnian|slovenian|albanian|chinese|japanese|korean|vietnamese|thai|filipino|indonesian|malaysian|"
    "singaporean|indian|pakistani|bangladeshi|nepali|sri lankan|iranian|iraqi|israeli|palestinian|"
    "lebanese|syrian|jordanian|saudi|egyptian|moroccan|algerian|tunisian|nigerian|ghanaian|kenyan|"
    "ethiopian|south african|new zealander|kiwi|taiwanese|mongolian|afghan|uruguayan|paraguayan|bolivian|"
    "ecuadorian|jamaican|haitian|dominican|puerto rican|cape verdean|angolan|mozambican|senegalese|"
    "cameroonian|ugandan|tanzanian|zimbabwean|armenian|georgian|azerbaijani|kazakh|uzbek|belarusian|"
    "moldovan|luxembourgish|maltese|cypriot".split("|")
)
_NOT_NAMES = frozenset(
    "good|fine|great|ok|okay|tired|sure|sorry|happy|sad|back|here|ready|done|busy|new|not|so|very|just|"
    "also|still|going|trying|looking|a|an|the|from|in|at|on|home|well|alright|excited|bored|hungry|"
    "thirsty|sick|ill|late|early|confused|lost|curious|afraid|scared|glad|thrilled|retired|married|single|"
    "divorced|pregnant|vegetarian|vegan|allergic|interested|learning|working|living|moving|leaving|coming|"
    "thinking|wondering|stuck|free|available|awake|asleep|online|offline|there|out|up|down|right|wrong|"
    "certain|positive|bad|better|worse|fantastic|amazing|awesome|cool|grateful|thankful|honest|serious|"
    "kidding|joking|human|real|ai|assistant|christian|muslim|jewish|catholic|buddhist|hindu|atheist|"
    "agnostic|gay|straight|bi|trans|old|young|tall|short|left|handed|stressed|anxious|worried|nervous|"
    "exhausted|sleepy|hungover|fed|finished|about|off|your|his|her|their|our|my|this|that|it|all|too|"
    "really|totally|almost|nearly|now|currently|always|never|unemployed|self|engaged".split("|")
)

_JOB_HEADS = frozenset(
    "engineer|developer|programmer|coder|scientist|manager|designer|analyst|consultant|teacher|professor|"
    "lecturer|nurse|doctor|physician|surgeon|dentist|lawyer|attorney|solicitor|barrister|accountant|"
    "architect|chef|cook|baker|writer|author|journalist|editor|artist|musician|photographer|pilot|driver|"
    "mechanic|electrician|plumber|carpenter|farmer|student|researcher|librarian|pharmacist|therapist|"
    "psychologist|psychiatrist|veterinarian|vet|firefighter|paramedic|police officer|officer|soldier|"
    "salesperson|cashier|waiter|waitress|bartender|barista|receptionist|secretary|administrator|"
    "technician|entrepreneur|founder|ceo|cto|cfo|coo|director|intern|freelancer|translator|interpreter|"
    "economist|midwife|tutor|coach|trainer|dietitian|nutritionist|optometrist|banker|broker|clerk|janitor|"
    "cleaner|tailor|hairdresser|barber|contractor|sysadmin|devops|physiotherapist|radiologist|"
    "anesthesiologist|pediatrician|paediatrician|cardiologist|postdoc|phd student|graduate student|"
    "undergrad|undergraduate|actor|actress|dancer|singer|painter|sculptor|illustrator|animator|producer|"
    "filmmaker|blogger|youtuber|streamer|influencer|marketer|recruiter|planner|strategist|auditor|"
    "underwriter|actuary|statistician|mathematician|physicist|chemist|biologist|geologist|astronomer|"
    "historian|linguist|philosopher|sociologist|archaeologist|pastor|priest|rabbi|imam|minister|"
    "politician|diplomat|judge|paralegal|social worker|caregiver|carer|nanny|babysitter|housekeeper|"
    "homemaker|stay-at-home mom|stay-at-home dad|landscaper|gardener|welder|machinist|operator|dispatcher|"
    "courier|trucker|truck driver|bus driver|taxi driver|flight attendant|steward|stewardess|captain|"
    "sailor|fisherman|miner|builder|surveyor|inspector|estate agent|realtor|real estate agent|agent|"
    "assistant professor|data scientist|product manager|project manager|security guard|guard|lifeguard|"
    "personal trainer|retail worker|warehouse worker|factory worker|nurse practitioner|optician|"
    "chiropractor|psychotherapist|counselor|counsellor|educator|principal|headteacher".split("|")
)
_DIETS = r"vegetarian|vegan|pescatarian|pescetarian|keto|kosher|halal|gluten[- ]free|dairy[- ]free|plant[- ]based|paleo"
_CONDITIONS = (
    r"type [12] diabetes|diabetes|asthma|epilepsy|adhd|autism|dyslexia|depression|anxiety|bipolar(?: disorder)?|"
    r"c[o]?eliac(?: disease)?|crohn'?s(?: disease)?|ibs|irritable bowel syndrome|high blood pressure|"
    r"low blood pressure|hypertension|migraines?|arthritis|cancer|long covid|covid|a heart condition|"
    r"heart disease|kidney disease|hypothyroidism|hyperthyroidism|sleep apnea|sleep apnoea|insomnia|ptsd|ocd|"
    r"gout|psoriasis|eczema|lupus|multiple sclerosis|parkinson'?s(?: disease)?|alzheimer'?s(?: disease)?|"
    r"tinnitus|glaucoma|hiv|hepatitis(?: [abc])?|osteoporosis|scoliosis|fibromyalgia|chronic fatigue syndrome|"
    r"chronic pain|back pain|endometriosis|pcos|anemia|anaemia|high cholesterol|a pacemaker|hearing loss|"
    r"(?:[a-z'-]+ ){0,2}(?:disease|disorder|syndrome)|[a-z]+(?:itis|osis|emia|aemia)"
)
_CONDITION_ADJECTIVES = dict(
    pair.split("=")
    for pair in (
        "diabetic=diabetes|asthmatic=asthma|epileptic=epilepsy|autistic=autism|dyslexic=dyslexia|"
        "celiac=celiac disease|coeliac=celiac disease|anemic=anemia|pregnant=pregnancy|deaf=deafness|"
        "blind=blindness|colorblind=colour blindness|colourblind=colour blindness|"
        "color blind=colour blindness|colour blind=colour blindness|hard of hearing=hearing loss|"
        "lactose intolerant=lactose intolerance|gluten intolerant=gluten intolerance|"
        "hypertensive=hypertension|bipolar=bipolar disorder"
    ).split("|")
)
_RELATIONS = dict(
    pair.split("=")
    for pair in (
        "wife=wife|husband=husband|hubby=husband|partner=partner|spouse=spouse|boyfriend=boyfriend|"
        "bf=boyfriend|girlfriend=girlfriend|gf=girlfriend|fiance=fiance|fiancé=fiance|fiancee=fiance|"
        "fiancée=fiance|mom=mother|mum=mother|mother=mother|mommy=mother|mama=mother|dad=father|father=father|"
        "daddy=father|papa=father|sister=sister|brother=brother|son=son|daughter=daughter|kid=child|"
        "child=child|baby=baby|grandma=grandmother|granny=grandmother|grandmother=grandmother|"
        "grandpa=grandfather|granddad=grandfather|grandfather=grandfather|aunt=aunt|uncle=uncle|cousin=cousin|"
        "niece=niece|nephew=nephew|best friend=best_friend|stepmother=stepmother|stepfather=stepfather|"
        "stepson=stepson|stepdaughter=stepdaughter|grandson=grandson|granddaughter=granddaughter|"
        "mother-in-law=mother_in_law|father-in-law=father_in_law|sister-in-law=sister_in_law|"
        "brother-in-law=brother_in_law|twin=twin|twin sister=twin_sister|twin brother=twin_brother"
    ).split("|")
)
# Relations a person has one of at a time: a new name supersedes the old one.
_UNIQUE_RELATIONS = frozenset(
    "wife|husband|partner|spouse|boyfriend|girlfriend|fiance|mother|father|best_friend|stepmother|"
    "stepfather|mother_in_law|father_in_law".split("|")
)
_PETS = dict(
    pair.split("=")
    for pair in (
        "dog=dog|puppy=dog|pup=dog|cat=cat|kitten=cat|kitty=cat|hamster=hamster|rabbit=rabbit|bunny=rabbit|"
        "parrot=parrot|bird=bird|budgie=bird|fish=fish|goldfish=fish|horse=horse|pony=horse|"
        "guinea pig=guinea_pig|turtle=turtle|tortoise=tortoise|lizard=lizard|gecko=lizard|snake=snake|"
        "ferret=ferret|rat=rat|mouse=mouse|chicken=chicken|goat=goat|iguana=lizard|canary=bird"
    ).split("|")
)
# Counts the family rule reads: the shared number words plus "no"/"zero" and twins.
_NUMBERS = {**NUMBER_WORDS, "no": 0, "zero": 0, "twin": 2, "twins": 2}
_NUMBER_WORDS = {
    0: "no",
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
}
_NOT_PLACES = frozenset(
    "fear|hope|denial|peace|harmony|poverty|luxury|comfort|moment|present|past|future|dream|bubble|head|"
    "reality|sin|misery|constant|hiding|style|terror|anxiety|pain|debt|shame|silence|hell|the moment|"
    "the present|the past|the future|a dream|a bubble|my head|the now|limbo|bliss|dread|squalor|fact".split("|")
)
_HOUSING = frozenset(
    "house|apartment|flat|dorm|studio|condo|van|tent|caravan|trailer|houseboat|cabin|mansion|bungalow|"
    "room|basement|loft|rv|camper|shared".split("|")
)
_NOT_EMPLOYERS = frozenset(
    "night|nights|home|weekends|the moment|a living|free|fun|money|you|it|that|this|night shifts|"
    "the weekend|weekdays|hours|length|times".split("|")
)
_RULE_VERBS = (
    r"ask|answer|reply|respond|use|include|give|write|explain|tell|check|remind|confirm|show|keep|add|format|"
    r"speak|call|double-check|cite|mention|say|start|end|put|suggest|assume|recommend|offer|warn|be|provide|"
    r"list|talk|address|refer|sign|greet|summarize|summarise|translate|avoid|make|try|let|send|share|"
    r"correct|respect|consider|prefer|mention|read|write|show|round|convert|put|do|don't|stop|skip"
)
_ANSWER_WORDS = r"answers?|responses?|replies|reply|explanations?|messages?"
_LENGTHS = dict(
    pair.split("=")
    for pair in (
        "short=short|shorter=short|brief=short|briefer=short|concise=short|succinct=short|terse=short|"
        "to the point=short|long=detailed|longer=detailed|detailed=detailed|in-depth=detailed|"
        "in depth=detailed|thorough=detailed|comprehensive=detailed|more detailed=detailed|simple=simple|"
        "simpler=simple"
    ).split("|")
)
_LANGUAGES = frozenset(
    "english|spanish|french|german|italian|portuguese|dutch|swedish|norwegian|danish|finnish|polish|czech|"
    "greek|turkish|russian|ukrainian|chinese|mandarin|cantonese|japanese|korean|vietnamese|thai|hindi|"
    "arabic|hebrew|persian|farsi|indonesian|malay|tagalog|romanian|hungarian|catalan|basque|galician|"
    "swahili|bengali|urdu|punjabi|tamil|irish|welsh|esperanto|latin|brazilian portuguese".split("|")
)


def _name_words(text: str, *, lenient: bool) -> str:
    """Up to four name words at the start of `text` (lenient: lowercase allowed)."""
    match = re.match(r"((?:[^\W\d_][\w'.-]*)(?:\s+[^\W\d_][\w'.-]*){0,3})", text)
    if not match:
        return ""
    parts: list[str] = []
    for word in match.group(1).split():
        bare = word.strip(".'")
        if bare.lower() in {
            "and",
            "but",
            "or",
            "from",
            "by",
            "btw",
            "though",
            "please",
            "thanks",
            "now",
            "here",
            "nice",
            "i",
            "i'm",
            "im",
            "not",
            "anymore",
            "too",
            "so",
            "as",
            "in",
            "at",
        }:
            break
        if not lenient and not bare[:1].isupper():
            break
        parts.append(bare)
    if not parts or any(part.lower() in _NOT_NAMES or part.lower() in _NATIONALITIES for part in parts):
        return ""
    if any(re.search(r"\d|_", part) for part in parts):
        return ""
    return smart_title(" ".join(parts))


def _date_value(text: str, now: datetime) -> tuple[str, str] | None:
    """(ISO value, readable) for a birthday-like date at the start of `text`, year optional."""
    text = text.strip()
    match = CALENDAR_DATE.match(text)
    if match:
        month_name = match.group("month") or match.group("month2")
        day_text = match.group("day") or match.group("day2")
        year_text = match.group("year") or match.group("year2")
        iso = match.group("iso")
        if iso:
            year, month, day = (int(part) for part in iso.split("-"))
            year_text = str(year)
        else:
            month, day = MONTHS[month_name.lower().rstrip(".")], int(day_text)
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        readable = f"{MONTH_NAMES[month]} {day}" + (f", {year_text}" if year_text else "")
        value = (f"{year_text}-" if year_text else "--") + f"{month:02d}-{day:02d}"
        return value, readable
    resolved = find_dates(text, now)
    if resolved and resolved[0].start == 0 and resolved[0].day is not None:
        day_date = resolved[0].day
        return f"--{day_date.month:02d}-{day_date.day:02d}", f"{MONTH_NAMES[day_date.month]} {day_date.day}"
    return None


# -- the rules ------------------------------------------------------------------------------


@dataclass
class _Context:
    now: datetime
    source_id: str
    origin: Origin
    clause: str

    def make(
        self,
        kind: Kind,
        text: str,
        key: str | None,
        value: str | None,
        *,
        importance: float,
        confidence: float = 0.9,
        retracts: bool = False,
    ) -> Candidate:
        return Candidate(
            kind=kind,
            text=text,
            key=key,
            importance=importance,
            confidence=confidence,
            origin=self.origin,
            source_ids=[self.source_id] if self.source_id else [],
            value=value,
            retracts=retracts,
        )


Rule = Callable[[re.Match[str], _Context], list[Candidate]]
_RULES: list[tuple[re.Pattern[str], Rule]] = []

_I_AM = r"(?:i'm|i am|im)"
_I_HAVE = r"(?:i have|i've got|i have got|i've|ive got)"
_ADVERBS = (
    r"(?:(?:really|absolutely|totally|truly|just|also|still|do|kinda|kind of|quite|genuinely|honestly|"
    r"seriously|especially|simply|actually|definitely|so|very much|sort of|particularly|always|"
    r"certainly|deeply|madly|completely|now)\s+)*"
)
_NEGATED_TAIL = re.compile(r"(?i)\b(?:anymore|any more|any longer|no more)\b")


def rule(pattern: str) -> Callable[[Rule], Rule]:
    compiled = re.compile(r"(?i)^" + pattern)

    def register(handler: Rule) -> Rule:
        _RULES.append((compiled, handler))
        return handler

    return register


# Names -------------------------------------------------------------------------------------


@rule(
    r"(?:my (?:full |first |given )?name is|my name's|my names|name's|i am called|i'm called|i'm named|"
    r"i am named|people call me|everyone calls me|they call me)\s+(?!not\b)(?P<rest>.+)"
)
def _name(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    lowered = match.group(0).lower()
    name = _name_words(match.group("rest"), lenient=True)
    if not name:
        return []
    if lowered.startswith(("people call me", "everyone calls me", "they call me")):
        return [
            ctx.make(Kind.PREFERENCE, f"User prefers to be called {name}", "user.preferred_name", name, importance=0.85)
        ]
    return [ctx.make(Kind.SEMANTIC, f"User's name is {name}", "user.name", name, importance=0.9)]


@rule(r"my (?:last name|surname|family name) is\s+(?P<rest>.+)")
def _surname(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    name = _name_words(match.group("rest"), lenient=True)
    return [ctx.make(Kind.SEMANTIC, f"User's surname is {name}", "user.surname", name, importance=0.7)] if name else []


@rule(r"(?:you can |please |you may |just |feel free to )*(?:call me|address me as|refer to me as)\s+(?P<rest>.+)")
def _call_me(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    name = _name_words(match.group("rest"), lenient=True)
    if not name or _NEGATED_TAIL.search(match.group(0)):
        return []
    return [
        ctx.make(Kind.PREFERENCE, f"User prefers to be called {name}", "user.preferred_name", name, importance=0.85)
    ]


@rule(
    r"(?:i go by|i prefer to be called|i'd like to be called|i would like to be called|i like to be called)"
    r"\s+(?P<rest>.+)"
)
def _go_by(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    return _call_me(match, ctx)


@rule(
    _I_AM
    + r"\s+(?:a\s+|an\s+)?(?P<nat>"
    + "|".join(sorted(_NATIONALITIES, key=len, reverse=True))
    + r")(?:\s+(?:citizen|national))?\s*(?:[,.!]|$|\s+(?:and|but|by)\b)"
)
def _nationality(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    nationality = smart_title(match.group("nat").lower())
    return [ctx.make(Kind.SEMANTIC, f"User is {nationality}", "user.nationality", nationality, importance=0.6)]


# Places ------------------------------------------------------------------------------------


def _place(text: str) -> str:
    value = _cut(text, max_words=6)
    if not value:
        return ""
    bare = _strip_article(value).lower()
    first = value.split()[0].lower()
    if value.lower() in _NOT_PLACES or bare in _NOT_PLACES or any(word in _NOT_PLACES for word in bare.split()):
        return ""
    if first in ("a", "an", "my", "our", "your", "his", "her", "their", "this", "that", "some"):
        if any(word in _HOUSING for word in bare.split()):
            return ""
    if _DETERMINER_START.match(value) or re.search(r"\d{3,}", value):
        return ""
    return smart_title(value) if first not in ("a", "an", "the") else value


@rule(
    r"(?:i\s+(?:currently\s+|now\s+|still\s+|actually\s+)?(?:live|reside|stay)|i'm (?:currently |now )?living|"
    r"i am (?:currently |now )?living|" + _I_AM + r" (?:currently |now )?(?:based|located|settled))"
    r"\s+(?:in|at|out of)\s+(?P<rest>.+)"
)
def _home(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    place = _place(match.group("rest"))
    if not place:
        return []
    return [ctx.make(Kind.SEMANTIC, f"User lives in {place}", "user.home", place, importance=0.8)]


@rule(
    r"(?:i\s+(?:just\s+|recently\s+|finally\s+)?(?:moved|relocated)|i've\s+(?:just\s+|recently\s+|finally\s+)?"
    r"(?:moved|relocated)|i have\s+(?:just\s+|recently\s+)?(?:moved|relocated))\s+(?:to|into)\s+(?P<rest>.+)"
)
def _moved(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    rest = match.group("rest")
    if find_dates(rest, ctx.now) and re.search(r"(?i)\b(?:next|tomorrow|in \w+ (?:weeks?|months?))\b", rest):
        return []
    return _home(match, ctx)


@rule(
    r"(?:i\s+(?:don't|do not|no longer)\s+(?:live|reside)|i'm not (?:living|based)|i am not (?:living|based)|"
    r"i\s+moved\s+away|i've\s+moved\s+away|i\s+moved\s+out)\s+(?:in|from|of|at)\s+(?P<rest>.+)"
)
def _home_retracted(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    place = _place(match.group("rest"))
    if not place:
        return []
    return [
        ctx.make(Kind.SEMANTIC, f"User no longer lives in {place}", "user.home", place, importance=0.8, retracts=True)
    ]


@rule(
    r"(?:" + _I_AM + r"\s+(?:originally\s+)?from|i\s+(?:originally\s+)?come\s+from|my home ?town is|"
    r"i\s+was\s+born\s+and\s+raised\s+in)\s+(?P<rest>.+)"
)
def _origin(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    place = _place(match.group("rest"))
    if not place or place.split()[0].lower() in ("a", "an"):
        return []
    return [ctx.make(Kind.SEMANTIC, f"User is from {place}", "user.origin", place, importance=0.7)]


@rule(r"i\s+grew\s+up\s+in\s+(?P<rest>.+)")
def _grew_up(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    place = _place(match.group("rest"))
    return (
        [ctx.make(Kind.SEMANTIC, f"User grew up in {place}", "user.grew_up_in", place, importance=0.6)] if place else []
    )


# Work --------------------------------------------------------------------------------------


def _role_text(role: str) -> str:
    if role in ("retired", "unemployed", "self-employed"):
        return f"User is {role}"
    return f"User works as {article(role)} {role}"


def _role(text: str) -> str:
    value = _cut(
        text,
        max_words=4,
        stop=re.compile(
            r"(?i)\s*(?:[,.;!?()]|\s(?:at|for|in|with|and|but|since|"
            r"by|from|who|which|because|now|currently|so)\b)"
        ),
    )
    value = _strip_article(value).lower()
    if not value:
        return ""
    head = value.split()[-1]
    if value in _JOB_HEADS or head in _JOB_HEADS or singular(head) in _JOB_HEADS:
        return value
    return ""


def _employer(text: str) -> str:
    value = _cut(
        text,
        max_words=5,
        stop=re.compile(
            r"(?i)\s*(?:[,.;!?()]|\s(?:as|and|but|since|because|for the|now|currently|where|which|so|in the|"
            r"from|during|these days|remotely|full[- ]time|part[- ]time)\b)"
        ),
    )
    if not value or value.lower() in _NOT_EMPLOYERS or _DETERMINER_START.match(value):
        return ""
    return value


@rule(
    r"(?:i\s+(?:currently\s+|now\s+|still\s+)?work|i'm (?:currently |now )?working|i am (?:currently )?working|"
    r"i've been working|i have been working|" + _I_AM + r" employed)\s+(?:at|for|by|with)\s+(?P<rest>.+)"
)
def _works_at(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    rest = match.group("rest")
    employer = _employer(rest)
    if not employer:
        return []
    if employer.lower() in ("myself", "me"):
        return [ctx.make(Kind.SEMANTIC, "User is self-employed", "user.work.role", "self-employed", importance=0.7)]
    found = [ctx.make(Kind.SEMANTIC, f"User works at {employer}", "user.work.employer", employer, importance=0.7)]
    as_role = re.search(r"(?i)\bas\s+(?:an?\s+)?(?P<role>.+)", rest[len(employer) :])
    if as_role and (role := _role(as_role.group("role"))):
        found.append(ctx.make(Kind.SEMANTIC, _role_text(role), "user.work.role", role, importance=0.7))
    return found


@rule(
    r"(?:i\s+(?:currently\s+|now\s+)?work|i'm (?:currently |now )?working|i am working)\s+as\s+(?:a\s+|an\s+)?"
    r"(?P<rest>.+)"
)
def _works_as(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    rest = match.group("rest")
    role = _cut(rest, max_words=4, stop=re.compile(r"(?i)\s*(?:[,.;!?()]|\s(?:at|for|in|with|and|but|since|now)\b)"))
    role = role.lower()
    if not role or _DETERMINER_START.match(role):
        return []
    found = [ctx.make(Kind.SEMANTIC, _role_text(role), "user.work.role", role, importance=0.7)]
    at = re.search(r"(?i)\b(?:at|for)\s+(?P<employer>.+)", rest)
    if at and (employer := _employer(at.group("employer"))):
        found.append(
            ctx.make(Kind.SEMANTIC, f"User works at {employer}", "user.work.employer", employer, importance=0.7)
        )
    return found


@rule(_I_AM + r"\s+(?:now\s+|currently\s+|still\s+)?(?:a|an)\s+(?P<rest>.+)")
def _i_am_a(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    rest = match.group("rest")
    role = _role(rest)
    if not role:
        return []
    found = [ctx.make(Kind.SEMANTIC, _role_text(role), "user.work.role", role, importance=0.7, confidence=0.85)]
    at = re.search(r"(?i)\b(?:at|for|with)\s+(?P<employer>.+)", rest)
    if at and (employer := _employer(at.group("employer"))):
        if role.endswith("student"):
            found.append(
                ctx.make(
                    Kind.SEMANTIC, f"User studies at {employer}", "user.education.school", employer, importance=0.7
                )
            )
        else:
            found.append(
                ctx.make(Kind.SEMANTIC, f"User works at {employer}", "user.work.employer", employer, importance=0.7)
            )
    return found


@rule(
    _I_AM + r"\s+(?:now\s+)?(?P<status>retired|unemployed|self-employed|self employed|a stay-at-home parent)"
    r"\s*(?:[,.!]|$|\s+(?:now|and|but|since)\b)"
)
def _work_status(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    status = match.group("status").lower().replace("self employed", "self-employed")
    return [ctx.make(Kind.SEMANTIC, _role_text(status), "user.work.role", status, importance=0.7)]


@rule(r"(?:i\s+(?:don't|do not|no longer)\s+work|i'm not working|i am not working)\s+(?:at|for)\s+(?P<rest>.+)")
def _employer_retracted(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    employer = _employer(match.group("rest"))
    if not employer:
        return []
    return [
        ctx.make(
            Kind.SEMANTIC,
            f"User no longer works at {employer}",
            "user.work.employer",
            employer,
            importance=0.7,
            retracts=True,
        )
    ]


@rule(r"i\s+(?:just\s+)?(?:quit|left)\s+my\s+job(?:\s+(?:at|with)\s+(?P<rest>.+))?")
def _quit_job(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    employer = _employer(match.group("rest") or "")
    text = f"User no longer works at {employer}" if employer else "User left their job"
    return [ctx.make(Kind.SEMANTIC, text, "user.work.employer", employer or None, importance=0.7, retracts=True)]


# Family and pets ---------------------------------------------------------------------------

_RELATION_PATTERN = "|".join(sorted((re.escape(word) for word in _RELATIONS), key=len, reverse=True))
_PET_PATTERN = "|".join(sorted((re.escape(word) for word in _PETS), key=len, reverse=True))


def _relation_candidate(relation_word: str, name: str, ctx: _Context) -> Candidate:
    relation = _RELATIONS[relation_word.lower()]
    key = f"user.family.{relation}.name" if relation in _UNIQUE_RELATIONS else f"user.family.{relation}.{slug(name)}"
    readable = relation.replace("_", " ")
    return ctx.make(Kind.SEMANTIC, f"User's {readable} is named {name}", key, name, importance=0.75)


def _pet_candidate(pet_word: str, name: str | None, ctx: _Context) -> Candidate:
    pet = _PETS[pet_word.lower()]
    noun = pet.replace("_", " ")
    text = f"User has {article(noun)} {noun} named {name}" if name else f"User has {article(noun)} {noun}"
    return ctx.make(Kind.SEMANTIC, text, f"user.pet.{pet}", name or noun, importance=0.6)


@rule(
    r"my\s+(?:(?:little|older|younger|big|baby|eldest|oldest|youngest|elder|new|late)\s+)?(?P<who>"
    + _RELATION_PATTERN
    + "|"
    + _PET_PATTERN
    + r")(?:'s name is|'s name's|\s+is\s+(?:called|named)|\s+goes by|\s+is)\s+(?P<rest>.+)"
)
def _relation_named(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    who = match.group("who").lower()
    explicit_name = not match.group(0).lower().split(who, 1)[1].strip().startswith("is ") or re.search(
        r"(?i)\bis\s+(?:called|named)\b", match.group(0)
    )
    name = _name_words(match.group("rest"), lenient=bool(explicit_name))
    if not name or (not explicit_name and len(match.group("rest").split()) > len(name.split()) + 3):
        return []
    if who in _PETS:
        return [_pet_candidate(who, name, ctx)]
    return [_relation_candidate(who, name, ctx)]


_FAMILY_GROUPS = {
    "kid": "children",
    "kids": "children",
    "child": "children",
    "children": "children",
    "grandkid": "grandchildren",
    "grandkids": "grandchildren",
}


@rule(
    _I_HAVE + r"\s+(?P<count>no|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twins|\d{1,2})\s+"
    r"(?:(?:little|young|grown|adult|small|beautiful|wonderful|lovely|amazing)\s+)?"
    r"(?P<what>kids?|children|child|sons?|daughters?|brothers?|sisters?|siblings?|grandchildren|grandkids?)\b"
    r"(?P<rest>.*)"
)
def _family_count(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    count_text = match.group("count").lower()
    count = int(count_text) if count_text.isdigit() else _NUMBERS[count_text]
    what = match.group("what").lower()
    group = _FAMILY_GROUPS.get(what, what if what.endswith("s") else what + "s")
    noun = group if count != 1 else ("child" if group == "children" else singular(group))
    text = f"User has {_NUMBER_WORDS.get(count, str(count))} {noun}"
    return [ctx.make(Kind.SEMANTIC, text, f"user.family.{group}.count", str(count), importance=0.7)]


@rule(r"(?:i\s+(?:don't|do not)\s+have\s+any|i\s+have\s+no)\s+(?P<what>kids|children|siblings|pets)\b")
def _family_none(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    what = match.group("what").lower()
    if what == "pets":
        return [ctx.make(Kind.SEMANTIC, "User has no pets", "user.pet.count", "0", importance=0.5)]
    group = "children" if what in ("kids", "children") else what
    return [ctx.make(Kind.SEMANTIC, f"User has no {group}", f"user.family.{group}.count", "0", importance=0.7)]


_NAME_LIST_END = re.compile(r"(?i)\s*(?:[.;!?()]|\s(?:but|because|who|which|since|so)\b)")


@rule(
    _I_HAVE + r"\s+(?P<count>a|an|one|two|three|four|\d)\s+(?:(?:little|old|young|big|small|new|rescue|pet|black|white|"
    r"ginger|tabby|golden|lovely)\s+)*(?P<pet>" + _PET_PATTERN + r")s?\b(?:\s*,?\s*(?:called|named)\s+"
    r"(?P<name>.+))?"
)
def _have_pet(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    count = match.group("count").lower()
    if count in ("a", "an", "one") or not match.group("name"):
        name = _name_words(match.group("name"), lenient=True) if match.group("name") else None
        if count not in ("a", "an", "one"):
            pet = _PETS[match.group("pet").lower()].replace("_", " ")
            return [
                ctx.make(
                    Kind.SEMANTIC, f"User has {count} {pet}s", f"user.pet.{slug(pet)}.count", count, importance=0.6
                )
            ]
        return [_pet_candidate(match.group("pet"), name or None, ctx)]
    names = [
        _name_words(part, lenient=False) for part in _items(_cut(match.group("name"), max_words=8, stop=_NAME_LIST_END))
    ]
    names = [name for name in names if name]
    if not names:
        return []
    pet = _PETS[match.group("pet").lower()]
    noun = pet.replace("_", " ") + "s"
    joined = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    return [
        ctx.make(Kind.SEMANTIC, f"User has {count} {noun} named {joined}", f"user.pet.{pet}", joined, importance=0.6)
    ]


@rule(r"(?:i(?:'m| am)\s+(?:married|engaged)\s+to|i\s+married)\s+(?P<rest>.+)")
def _married_to(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    name = _name_words(match.group("rest"), lenient=False)
    if not name:
        return []
    relation = "fiance" if "engaged" in match.group(0).lower() else "spouse"
    readable = "fiancé" if relation == "fiance" else "spouse"
    return [
        ctx.make(
            Kind.SEMANTIC, f"User's {readable} is named {name}", f"user.family.{relation}.name", name, importance=0.75
        )
    ]


# Health and diet ---------------------------------------------------------------------------


_ALLERGY_LIST_END = re.compile(
    r"(?i)\s*(?:[.;!?()]|\s(?:but|because|since|so|which|who|when|though|too|anymore|any more|now|"
    r"as well|btw|please|these days|right now|at the moment)\b)"
)


def _allergens(things: str) -> list[tuple[str, str]]:
    """'peanuts, eggs and milk' -> (item, key suffix) pairs: ('peanuts', 'peanut'), ..."""
    found = []
    for item in _items(_cut(things, max_words=8, stop=_ALLERGY_LIST_END)):
        item = re.sub(r"(?i)^(?:a|an|the|all|most|some|any|certain|severely|very)\s+", "", item).strip()
        if item and not _DETERMINER_START.match(item) and len(item.split()) <= 3:
            found.append((item, slug(" ".join(singular(word) for word in item.split()))))
    return found


def _allergy_candidates(things: str, ctx: _Context, *, retracts: bool = False) -> list[Candidate]:
    found: list[Candidate] = []
    for item, key in _allergens(things):
        text = f"User is no longer allergic to {item}" if retracts else f"User is allergic to {item}"
        found.append(
            ctx.make(Kind.SEMANTIC, text, f"user.allergy.{key}", item.lower(), importance=0.95, retracts=retracts)
        )
    return found


@rule(
    _I_AM + r"\s+(?:also\s+|severely\s+|very\s+|deathly\s+|highly\s+|extremely\s+|really\s+|quite\s+|mildly\s+|"
    r"slightly\s+)*allergic\s+to\s+(?P<rest>.+)"
)
def _allergic(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    return _allergy_candidates(match.group("rest"), ctx)


@rule(
    _I_HAVE + r"\s+(?:a\s+|an\s+)?(?:severe\s+|mild\s+|serious\s+|bad\s+)?(?:(?P<thing>[\w -]{2,30}?)\s+allergy|"
    r"allerg(?:y|ies)\s+to\s+(?P<rest>.+))"
)
def _have_allergy(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    return _allergy_candidates(match.group("thing") or match.group("rest") or "", ctx)


@rule(r"(?:" + _I_AM + r"\s+(?:not|no longer)\s+allergic\s+to|i'm not allergic to)\s+(?P<rest>.+)")
def _allergy_retracted(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    return _allergy_candidates(match.group("rest"), ctx, retracts=True)


def _names_a_condition(condition: str) -> bool:
    """'asthma', 'Crohn's disease'; not the bare 'a disease' or 'that disorder'."""
    return condition.lower() not in ("a disease", "a disorder", "a syndrome") and not _DETERMINER_START.match(condition)


def _health(condition: str, ctx: _Context, *, verb: str = "has", retracts: bool = False) -> Candidate:
    condition = condition.lower().strip()
    key = f"user.health.{slug(condition)}"
    if retracts:
        return ctx.make(Kind.SEMANTIC, f"User no longer has {condition}", key, condition, importance=0.9, retracts=True)
    return ctx.make(Kind.SEMANTIC, f"User {verb} {condition}", key, condition, importance=0.9)


@rule(
    r"(?:" + _I_HAVE + r"|i\s+suffer\s+from|i\s+(?:was|have been|got|just got)\s+diagnosed\s+with|i\s+live\s+with|"
    r"i\s+struggle\s+with|i\s+am\s+living\s+with|i'm\s+living\s+with|i\s+deal\s+with)\s+"
    r"(?:(?:mild|severe|chronic|bad|serious|early[- ]stage|stage \w+)\s+)?(?P<cond>" + _CONDITIONS + r")\b"
)
def _condition(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    condition = match.group("cond")
    return [_health(condition, ctx)] if _names_a_condition(condition) else []


@rule(
    _I_AM
    + r"\s+(?:also\s+|severely\s+|very\s+)?(?P<adj>"
    + "|".join(sorted((re.escape(word) for word in _CONDITION_ADJECTIVES), key=len, reverse=True))
    + r")\b"
)
def _condition_adjective(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    adjective = match.group("adj").lower()
    condition = _CONDITION_ADJECTIVES[adjective]
    key = f"user.health.{slug(condition)}"
    return [ctx.make(Kind.SEMANTIC, f"User is {adjective}", key, condition, importance=0.9)]


@rule(
    r"(?:i\s+(?:no longer|don't|do not)\s+have|i\s+(?:have\s+)?(?:recovered|been cured)\s+from|"
    r"i'm\s+(?:cured of|over)|i\s+beat)\s+(?P<cond>" + _CONDITIONS + r")\b"
)
def _condition_retracted(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    return [_health(match.group("cond"), ctx, retracts=True)]


@rule(_I_AM + r"\s+(?:(?:now|also|strictly|fully|mostly|a)\s+)*(?P<diet>" + _DIETS + r")\b(?!\s+(?:food|restaurant))")
def _diet(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    diet = match.group("diet").lower().replace(" ", "-")
    return [ctx.make(Kind.SEMANTIC, f"User is {diet}", "user.diet", diet, importance=0.85)]


@rule(
    r"(?:" + _I_AM + r"\s+(?:not|no longer)\s+(?:a\s+)?(?P<diet>" + _DIETS + r")|i\s+(?:stopped|quit)\s+being\s+"
    r"(?:a\s+)?(?P<diet2>" + _DIETS + r"))\b"
)
def _diet_retracted(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    diet = (match.group("diet") or match.group("diet2")).lower().replace(" ", "-")
    return [ctx.make(Kind.SEMANTIC, f"User is no longer {diet}", "user.diet", diet, importance=0.85, retracts=True)]


@rule(r"i\s+(?:don't|do not|never|can't|cannot)\s+eat\s+(?P<rest>.+)")
def _does_not_eat(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    value = _cut(match.group("rest"), max_words=6)
    found: list[Candidate] = []
    for item in _items(value):
        item = _strip_article(item)
        if not item or _DETERMINER_START.match(item) or _NEGATED_TAIL.search(item):
            continue
        found.append(
            ctx.make(
                Kind.SEMANTIC,
                f"User doesn't eat {item}",
                f"user.diet.avoids.{slug(item)}",
                item.lower(),
                importance=0.8,
            )
        )
    return found


# What the user says about a family member: their allergies, diet, health, home and work ---------

# A name after the relation ("my partner Rui", "my husband, João,"): capitalised, so "my partner
# really is" is not read as a name.
_GIVEN_NAME = r"(?-i:[A-ZÀ-ÖØ-Þ][\w'-]*)(?:\s+(?-i:[A-ZÀ-ÖØ-Þ][\w'-]*))?"


@rule(
    r"my\s+(?:(?:little|older|younger|big|baby|eldest|oldest|youngest|elder|new)\s+)?(?P<who>"
    + _RELATION_PATTERN
    + r")(?:\s*,?\s+(?P<name>"
    + _GIVEN_NAME
    + r")\s*,?)?\s+(?:(?:is|'s)\s+(?:also\s+|severely\s+|very\s+|deathly\s+|highly\s+|really\s+)*"
    r"allergic\s+to\s+(?P<allergy>.+)|(?:is|'s)\s+(?:(?:now|also|strictly|fully|mostly|a)\s+)*(?P<diet>"
    + _DIETS
    + r")\b(?!\s+(?:food|restaurant))|(?:has|suffers from)\s+(?:(?:mild|severe|chronic|bad|serious)\s+)?(?P<cond>"
    + _CONDITIONS
    + r")\b|lives\s+in\s+(?P<home>.+)|works\s+(?:at|for)\s+(?P<employer>.+))"
)
def _family_member_fact(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    """ "my partner Rui is vegetarian": the relation's name, and the fact, under the person's key."""
    relation = _RELATIONS[match.group("who").lower()]
    name = match.group("name") or ""
    if name and not _name_words(name, lenient=False):
        return []
    person = f"User's {relation.replace('_', ' ')}" + (f" {name}" if name else "")
    if relation in _UNIQUE_RELATIONS:
        person_key: str | None = f"user.family.{relation}"
    else:  # one of several sisters or sons: only a name tells which
        person_key = f"user.family.{relation}.{slug(name)}" if name else None
    found = [_relation_candidate(match.group("who"), name, ctx)] if name else []

    def fact(text: str, aspect: str, value: str, importance: float) -> Candidate:
        key = f"{person_key}.{aspect}" if person_key else None
        return ctx.make(Kind.SEMANTIC, f"{person} {text}", key, value, importance=importance)

    if match.group("allergy"):
        for item, key in _allergens(match.group("allergy")):
            found.append(fact(f"is allergic to {item}", f"allergy.{key}", item.lower(), 0.95))
    elif match.group("diet"):
        diet = match.group("diet").lower().replace(" ", "-")
        found.append(fact(f"is {diet}", "diet", diet, 0.85))
    elif match.group("cond"):
        condition = match.group("cond").lower()
        if _names_a_condition(condition):
            found.append(fact(f"has {condition}", f"health.{slug(condition)}", condition, 0.85))
    elif match.group("home"):
        place = _cut(match.group("home"), max_words=5)
        if place and not _DETERMINER_START.match(place):
            found.append(fact(f"lives in {place}", "home", place, 0.7))
    elif match.group("employer") and (employer := _employer(match.group("employer"))):
        found.append(fact(f"works at {employer}", "employer", employer, 0.6))
    return found if len(found) > (1 if name else 0) else []


# Likes, dislikes, favourites, preferences --------------------------------------------------

_LIKE_STOP = re.compile(
    r"(?i)\s*(?:[,.;!?()\"]|\s-\s|\s(?:but|because|since|so|which|who|when|while|though|although|if|whereas|"
    r"a lot|so much|very much|too|as well|anymore|any more|more than anything|haha|lol|btw|by the way|these days|"
    r"nowadays|now|lately|please|thanks|and i|and my|but i)\b)"
)


def _like_object(text: str) -> str:
    value = _cut(text, max_words=6, stop=_LIKE_STOP)
    if (
        not value
        or _DETERMINER_START.match(value)
        or re.match(r"(?i)^(?:my|our|his|her|their|the way|when|to (?:think|believe|know|say|see|hear|ask))\b", value)
    ):
        return ""
    return value


def _answer_style(value: str) -> tuple[str, str] | None:
    match = re.search(
        r"(?i)\b(?P<len>"
        + "|".join(sorted(map(re.escape, _LENGTHS), key=len, reverse=True))
        + r")\s+(?:"
        + _ANSWER_WORDS
        + r")\b",
        value,
    )
    if match:
        length = _LENGTHS[match.group("len").lower()]
        return length, f"User prefers {length} answers"
    return None


def _like_candidates(thing: str, ctx: _Context, *, positive: bool, confidence: float = 0.85) -> list[Candidate]:
    if style := _answer_style(thing):
        length, text = style
        return [ctx.make(Kind.PREFERENCE, text, "user.preference.answer_length", length, importance=0.7)]
    lowered = thing.lower()
    key_slug = slug(_strip_article(lowered))
    if not key_slug:
        return []
    display = re.sub(r"(?i)^(?:to\s+)", "to ", thing)
    verb = "likes" if positive else "dislikes"
    found = [
        ctx.make(
            Kind.PREFERENCE,
            f"User {verb} {display}",
            f"user.{verb}.{key_slug}",
            lowered,
            importance=0.5,
            confidence=confidence,
        )
    ]
    # Loving something ends disliking it, and the other way round.
    other = "dislikes" if positive else "likes"
    found.append(
        ctx.make(
            Kind.PREFERENCE,
            f"User no longer {other.removesuffix('s')}s {display}",
            f"user.{other}.{key_slug}",
            lowered,
            importance=0.5,
            retracts=True,
        )
    )
    return found


@rule(r"i\s+" + _ADVERBS + r"(?:love|like|enjoy|adore|am into|'m into|dig)\s+(?P<rest>.+)")
def _likes(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    if re.match(r"(?i)i\s+would|i'd", match.group(0)):
        return []
    thing = _like_object(match.group("rest"))
    return _like_candidates(thing, ctx, positive=True) if thing else []


@rule(
    _I_AM + r"\s+" + _ADVERBS + r"(?:(?:a\s+)?(?:big|huge|massive|great|real|true)?\s*fan\s+of|into|"
    r"passionate\s+about|obsessed\s+with|crazy\s+about|keen\s+on|fond\s+of)\s+(?P<rest>.+)"
)
def _fan_of(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    thing = _like_object(match.group("rest"))
    return _like_candidates(thing, ctx, positive=True) if thing else []


@rule(
    r"(?:i\s+" + _ADVERBS + r"(?:hate|dislike|detest|despise|loathe|can't stand|cannot stand|can't bear|"
    r"don't like|do not like|don't enjoy|do not enjoy|don't really like|no longer like|don't love)|"
    + _I_AM
    + r"\s+(?:really\s+)?not\s+(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of|i\s+really\s+don't\s+like)"
    r"\s+(?P<rest>.+)"
)
def _dislikes(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    thing = _like_object(match.group("rest"))
    if not thing:
        return []
    if style := _answer_style(thing):
        opposite = "detailed" if style[0] == "short" else "short"
        return [
            ctx.make(
                Kind.PREFERENCE,
                f"User prefers {opposite} answers",
                "user.preference.answer_length",
                opposite,
                importance=0.7,
            )
        ]
    return _like_candidates(thing, ctx, positive=False)


def _favourite_category(text: str) -> str:
    category = slug(text.lower().replace("color", "colour"), max_words=3)
    return "_".join(singular(part) for part in category.split("_"))


@rule(
    r"my\s+(?:all[- ]time\s+|absolute\s+|very\s+|new\s+|current\s+)*(?:favou?rite|fave|fav)\s+(?P<cat>[\w' -]{2,30}?)"
    r"\s+(?:is|are|was|would be|has to be|has always been|'s|=|:)\s*(?:now\s+|still\s+|definitely\s+|probably\s+|"
    r"actually\s+|currently\s+)?(?P<rest>.+)"
)
def _favourite(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    if " was" in match.group(0).lower().split(match.group("cat").lower(), 1)[1][:5]:
        return []  # "my favourite colour was blue" is history, not the current value
    category = _favourite_category(match.group("cat"))
    value = _like_object(match.group("rest"))
    if not category or not value:
        return []
    readable = category.replace("_", " ")
    return [
        ctx.make(
            Kind.PREFERENCE,
            f"User's favourite {readable} is {value}",
            f"user.favourite.{category}",
            value.lower(),
            importance=0.55,
        )
    ]


@rule(
    r"(?P<rest>[\w' -]{1,40}?)\s+is\s+(?:now\s+|still\s+|definitely\s+)?my\s+(?:new\s+|all[- ]time\s+)?"
    r"(?:favou?rite|fave|fav)\s+(?P<cat>[\w -]{2,30}?)\s*(?:[.!,]|$)"
)
def _favourite_reversed(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    value = match.group("rest").strip()
    if _DETERMINER_START.match(value) or value.lower().startswith(("i ", "my ")):
        return []
    category = _favourite_category(match.group("cat"))
    readable = category.replace("_", " ")
    return [
        ctx.make(
            Kind.PREFERENCE,
            f"User's favourite {readable} is {value}",
            f"user.favourite.{category}",
            value.lower(),
            importance=0.55,
        )
    ]


def _preference_topic(preferred: str, other: str | None) -> tuple[str, str] | None:
    lowered = preferred.lower()
    if style := _answer_style(lowered + (" answers" if not re.search(_ANSWER_WORDS, lowered) else "")):
        return "answer_length", style[0]
    if re.search(r"\b(?:metric|imperial|celsius|fahrenheit|kilometers|kilometres|miles)\b", lowered):
        return "units", lowered
    if re.search(r"\b(?:formal|informal|casual|friendly|professional)\b", lowered):
        return "tone", lowered
    if re.search(r"\b(?:bullet points?|lists?|tables?|prose|paragraphs?|markdown|code examples?)\b", lowered):
        return "format", lowered
    if other:
        pair = sorted([slug(_strip_article(lowered), max_words=3), slug(_strip_article(other.lower()), max_words=3)])
        return "_vs_".join(pair), lowered
    topic = slug(_strip_article(lowered), max_words=3)
    return (topic, lowered) if topic else None


@rule(
    r"(?:i\s+(?:much\s+|really\s+|generally\s+|usually\s+|definitely\s+|always\s+|would\s+|strongly\s+)*prefer|"
    r"i'd\s+(?:much\s+)?prefer|i'd\s+(?:much\s+)?rather(?:\s+have)?)\s+(?P<rest>.+)"
)
def _prefer(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    rest = match.group("rest")
    if re.match(r"(?i)(?:to be called|not to|it|that|this|you|not)\b", rest):
        return []
    pair = re.match(r"(?i)(?P<a>.+?)\s+(?:over|to|rather than|instead of|than|vs\.?|versus)\s+(?P<b>.+)", rest)
    preferred = _like_object(pair.group("a")) if pair else _like_object(rest)
    other = _like_object(pair.group("b")) if pair else None
    if not preferred:
        return []
    topic = _preference_topic(preferred, other)
    if topic is None:
        return []
    key_topic, value = topic
    if key_topic == "answer_length":
        text = f"User prefers {value} answers"
    else:
        text = f"User prefers {preferred}" + (f" over {other}" if other else "")
    return [ctx.make(Kind.PREFERENCE, text, f"user.preference.{key_topic}", value, importance=0.7)]


@rule(
    r"(?:please\s+|can you\s+|could you\s+|i'd like you to\s+|i want you to\s+|from now on,?\s+|always\s+)*"
    r"(?:keep|make)\s+(?:your\s+|the\s+|all\s+)?(?:(?:" + _ANSWER_WORDS + r")|it|things)\s+"
    r"(?:(?:very|really|nice and|more|a bit|a little|super)\s+)*(?P<len>short|shorter|brief|briefer|concise|"
    r"succinct|to the point|long|longer|detailed|simple|simpler)\b"
)
def _keep_answers(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    length = _LENGTHS[match.group("len").lower()]
    return [
        ctx.make(
            Kind.PREFERENCE, f"User prefers {length} answers", "user.preference.answer_length", length, importance=0.7
        )
    ]


@rule(
    r"(?:please\s+|can you\s+|could you\s+|from now on,?\s+|always\s+)*(?:be|stay)\s+(?:(?:more|very|really)\s+)?"
    r"(?P<len>brief|concise|succinct|short|terse|detailed|thorough)\b"
)
def _be_brief(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    return _keep_answers(match, ctx)


@rule(
    r"(?:please\s+|can you\s+|could you\s+|from now on,?\s+|always\s+)*give\s+me\s+(?:(?:more|very|really)\s+)?"
    r"(?P<len>short|shorter|brief|concise|long|longer|detailed|in-depth|simple|simpler)\s+(?:" + _ANSWER_WORDS + ")"
)
def _give_me_answers(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    return _keep_answers(match, ctx)


@rule(
    r"(?:please\s+|can you\s+|could you\s+|from now on,?\s+|always\s+)*(?:answer|reply|respond|talk|speak|write)"
    r"(?:\s+to\s+me)?\s+(?:only\s+)?in\s+(?P<lang>[A-Za-z]+(?:\s+portuguese)?)\b"
)
def _language(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    language = match.group("lang").lower()
    if language not in _LANGUAGES:
        return []
    readable = smart_title(language)
    return [
        ctx.make(
            Kind.PREFERENCE,
            f"User prefers replies in {readable}",
            "user.preference.language",
            readable,
            importance=0.75,
        )
    ]


@rule(
    r"(?:please\s+|from now on,?\s+|always\s+)*(?:use|give me|show)\s+(?P<units>metric|imperial|celsius|fahrenheit)"
    r"(?:\s+units)?\b"
)
def _units(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    units = match.group("units").lower()
    system = {"celsius": "metric", "fahrenheit": "imperial"}.get(units, units)
    return [ctx.make(Kind.PREFERENCE, f"User prefers {system} units", "user.preference.units", system, importance=0.7)]


@rule(r"(?:please\s+)?(?:(?:don't|do not|never)\s+use\s+(?:any\s+)?emojis?|no\s+(?:more\s+)?emojis?)\b")
def _no_emoji(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    return [ctx.make(Kind.PREFERENCE, "User prefers no emojis", "user.preference.emoji", "none", importance=0.6)]


@rule(r"(?:please\s+|from now on,?\s+)*be\s+(?:more\s+)?(?P<tone>formal|casual|informal|friendly|professional)\b")
def _tone(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    tone = match.group("tone").lower().replace("informal", "casual")
    return [ctx.make(Kind.PREFERENCE, f"User prefers a {tone} tone", "user.preference.tone", tone, importance=0.65)]


@rule(r"(?:from now on,?\s+)?(?:please\s+)?(?P<rule>(?:always|never)\s+(?:" + _RULE_VERBS + r")\b.+)")
def _procedural(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    text = match.group("rule").strip().rstrip(".!")
    if len(text.split()) < 3 or re.match(r"(?i)never\s+mind\b", text):
        return []
    text = upper_first(text)
    return [ctx.make(Kind.PROCEDURAL, text, f"rule.{slug(text, max_words=8)}", text, importance=0.8)]


# Dates and plans ---------------------------------------------------------------------------


@rule(
    r"(?:my\s+(?:birthday|bday|b-day|date of birth|dob)\s+(?:is|'s|falls)\s+(?:on\s+)?(?:the\s+)?|"
    r"my\s+birthday's\s+(?:on\s+)?(?:the\s+)?|i\s+was\s+born\s+on\s+(?:the\s+)?)(?P<rest>.+)"
)
def _birthday(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    parsed = _date_value(match.group("rest"), ctx.now)
    if parsed is None:
        return []
    value, readable = parsed
    return [ctx.make(Kind.SEMANTIC, f"User's birthday is {readable}", "user.birthday", value, importance=0.75)]


@rule(r"my\s+(?P<who>" + _RELATION_PATTERN + r")'s\s+birthday\s+is\s+(?:on\s+)?(?:the\s+)?(?P<rest>.+)")
def _relation_birthday(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    parsed = _date_value(match.group("rest"), ctx.now)
    if parsed is None:
        return []
    value, readable = parsed
    relation = _RELATIONS[match.group("who").lower()]
    readable_relation = relation.replace("_", " ")
    return [
        ctx.make(
            Kind.SEMANTIC,
            f"User's {readable_relation}'s birthday is {readable}",
            f"user.family.{relation}.birthday",
            value,
            importance=0.7,
        )
    ]


@rule(
    _I_AM
    + r"\s+(?:now\s+|turning\s+|just\s+turned\s+)?(?P<age>[1-9][0-9]?)(?:\s+years?\s+old|\s+y/?o\b|\s*(?:[.!,]|$))"
)
def _age(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    age = match.group("age")
    as_of = f"{MONTH_NAMES[ctx.now.month]} {ctx.now.year}"
    return [ctx.make(Kind.SEMANTIC, f"User is {age} years old (as of {as_of})", "user.age", age, importance=0.6)]


@rule(r"i\s+was\s+born\s+in\s+(?P<year>(?:19|20)\d{2})\b")
def _birth_year(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    year = match.group("year")
    return [ctx.make(Kind.SEMANTIC, f"User was born in {year}", "user.birth_year", year, importance=0.6)]


_PLAN_START = re.compile(
    r"(?i)^(?:i'm|i am|im|i will|i'll|we're|we are)\s+"
    r"(?:(?:also|finally|probably|actually)\s+)?"
    r"(?P<verb>going to be|flying|going|travell?ing|heading|driving|leaving|off|taking a trip|moving|visiting|"
    r"getting married|starting|having|seeing|meeting|attending|running|graduating|be)\b(?P<rest>.*)"
)
_HAVE_EVENT = re.compile(
    r"(?i)^(?:" + _I_HAVE + r"|there's|i've got)\s+(?:a|an|my)\s+(?P<event>(?:[\w'-]+\s+){0,3}?(?:appointment|meeting|"
    r"interview|exam|test|surgery|operation|flight|date|wedding|party|conference|deadline|trip|vacation|holiday|"
    r"concert|match|game|presentation|check-?up|class|lesson|session|reservation|booking|race|marathon))\b"
    r"(?P<rest>.*)"
)


def _plan_destination(rest: str, now: datetime) -> str:
    match = re.search(r"(?i)\b(?:to|for|in|at)\s+(?P<place>.+)", rest)
    if not match:
        return ""
    place = match.group("place")
    dates = find_dates(place, now)
    if dates:
        place = place[: dates[0].start]
    place = _cut(place, max_words=3)
    if (
        not place
        or place.lower() in ("bed", "sleep", "the", "work", "me", "you", "a", "an", "the gym")
        or (_DETERMINER_START.match(place))
    ):
        return ""
    return place


def _plan_candidate(clause: str, slug_text: str, ctx: _Context) -> list[Candidate]:
    dates = [resolved for resolved in find_dates(clause, ctx.now) if resolved.value]
    if not dates:
        return []
    text = to_third_person(resolve_dates(clause, ctx.now)).rstrip(".!")
    key_slug = slug(slug_text, max_words=4)
    if not key_slug:
        return []
    candidate = ctx.make(Kind.SEMANTIC, text, f"user.plan.{key_slug}", dates[0].value, importance=0.6)
    return [candidate]


@rule(r"(?=(?:i'm|i am|i will|i'll|i'm going to be|we're|we are)\s)")
def _plans(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    plan = _PLAN_START.match(ctx.clause)
    if not plan:
        return []
    verb = plan.group("verb").lower()
    rest = plan.group("rest")
    if verb in (
        "going",
        "heading",
        "flying",
        "driving",
        "travelling",
        "traveling",
        "leaving",
        "off",
        "moving",
        "visiting",
        "taking a trip",
        "be",
        "going to be",
    ):
        if re.match(r"(?i)\s+to\s+(?:be|have|do|make|try|start|get|take|need|go|see)\b", rest) and verb == "going":
            return []
        destination = _plan_destination(rest if verb != "visiting" else " to" + rest, ctx.now)
        if not destination:
            return []
        prefix = "move" if verb == "moving" else "trip"
        return _plan_candidate(ctx.clause, f"{prefix} {_strip_article(destination)}", ctx)
    thing = _cut(
        rest,
        max_words=4,
        stop=re.compile(
            r"(?i)\s*(?:[,.;!?]|\s(?:on|at|in|next|this|tomorrow|today|"
            r"tonight|with|and|but)\b)"
        ),
    )
    if not thing:
        return []
    return _plan_candidate(ctx.clause, f"{verb} {_strip_article(thing)}", ctx)


@rule(r"(?=(?:i have|i've got|i have got|i've|there's)\s)")
def _events(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    event = _HAVE_EVENT.match(ctx.clause)
    if not event:
        return []
    return _plan_candidate(ctx.clause, event.group("event"), ctx)


# Names said in passing ("I'm Tom") are tried last: every other reading wins.


@rule(_I_AM + r"\s+(?P<rest>[^\W\d_][\w'-]*(?:\s+[^\W\d_][\w'-]*){0,2})\s*(?:[,.!]\s*(?P<after>.*))?$")
def _i_am_name(match: re.Match[str], ctx: _Context) -> list[Candidate]:
    rest = match.group("rest")
    after = (match.group("after") or "").lower()
    if after and not re.match(r"(?:nice|pleased|good|glad|great|how|hi|hello|hey|and|from|i|i'm|i am|btw|$)", after):
        return []
    name = _name_words(rest, lenient=False)
    if not name or len(name.split()) != len(rest.split()):
        return []
    if name.lower().endswith("ing") and len(name) > 5:
        return []
    return [ctx.make(Kind.SEMANTIC, f"User's name is {name}", "user.name", name, importance=0.9, confidence=0.75)]


# -- running the rules ----------------------------------------------------------------------

_NEGATION = re.compile(r"(?i)\b(?:not|never|no longer|don't|do not|doesn't|didn't|isn't|aren't|wasn't|won't|n't)\b")


def _clause_candidates(clause: _Clause, now: datetime, source_id: str, origin: Origin) -> list[Candidate]:
    if _HYPOTHETICAL.search(clause.before) or _REPORTED.search(clause.before):
        return []
    head = clause.text
    if re.match(
        r"(?i)^(?:if|when|whether|unless|suppose|imagine|pretend|maybe|perhaps|i wish|i wonder|i think|"
        r"i guess|i believe|i heard|i dreamt|i dreamed|in my dream|what if)\b",
        head,
    ):
        return []
    ctx = _Context(now=now, source_id=source_id, origin=origin, clause=head)
    found: list[Candidate] = []
    for pattern, handler in _RULES:
        match = pattern.match(head)
        if match is None:
            continue
        produced = handler(match, ctx)
        if not produced:
            continue
        negated_later = _NEGATED_TAIL.search(head) and not any(candidate.retracts for candidate in produced)
        if negated_later:
            continue  # "I live in Paris... not anymore"
        found.extend(produced)
        if any(not candidate.retracts for candidate in produced):
            break
    return found


def _cleanup(candidate: Candidate) -> Candidate | None:
    redaction = redact(candidate.text)
    if redaction.found:
        return None  # a "fact" whose point is a secret is not worth keeping
    text = re.sub(r"\s+", " ", candidate.text).strip().rstrip(".,;:")
    return replace(candidate, text=text)


def _dedupe(candidates: Sequence[Candidate]) -> list[Candidate]:
    seen: dict[tuple[str, bool], int] = {}
    result: list[Candidate] = []
    for candidate in candidates:
        identity = (candidate.key or _text_identity(candidate.text), candidate.retracts)
        if identity in seen:
            index = seen[identity]
            if candidate.confidence >= result[index].confidence:
                result[index] = candidate  # within one message the later statement is the correction
            continue
        seen[identity] = len(result)
        result.append(candidate)
    # A positive fact in the same message wins over a cross-retraction of the same key.
    positive_keys = {candidate.key for candidate in result if not candidate.retracts and candidate.key}
    return [c for c in result if not (c.retracts and c.key in positive_keys)]


def _text_identity(text: str) -> str:
    return " ".join(sorted(content_stems(text)))


def extract_explicit(
    user_text: str,
    *,
    now: datetime,
    source_id: str,
    origin: Origin = Origin.EXTRACTED,
) -> list[Candidate]:
    """Deterministic candidates for what the user plainly says about themselves."""
    found: list[Candidate] = []
    for clause in _clauses(redact(user_text).text):
        found.extend(_clause_candidates(clause, now, source_id, origin))
    cleaned = [candidate for candidate in map(_cleanup, found) if candidate is not None]
    return _dedupe(cleaned)


def remember_candidates(text: str, *, now: datetime, source_id: str) -> list[Candidate]:
    """What "remember that ..." stores: keyed facts when the rules see them, else the text itself."""
    redacted = redact(text).text
    keyed = extract_explicit(redacted, now=now, source_id=source_id, origin=Origin.EXPLICIT)
    if keyed:
        return [replace(candidate, confidence=1.0, importance=max(candidate.importance, 0.8)) for candidate in keyed]
    statement = to_third_person(resolve_dates(normalize_text(redacted), now)).rstrip(" .")
    if not statement or not any(char.isalnum() for char in statement) or "[redacted " in statement:
        return []  # a secret is never a memory, not even a placeholder for one
    return [
        Candidate(
            kind=Kind.SEMANTIC,
            text=statement,
            key=None,
            importance=0.8,
            confidence=1.0,
            origin=Origin.EXPLICIT,
            source_ids=[source_id] if source_id else [],
            value=None,
        )
    ]


# -- LLM extraction -------------------------------------------------------------------------


class ExtractedItem(BaseModel):
    kind: Literal["semantic", "preference", "procedural", "episodic"] = Field(
        description="semantic: a fact about the user; preference: how they like things; procedural: a rule for "
        "the assistant; episodic: a notable event"
    )
    # No length limits in the schema: llama.cpp turns them into huge, slow grammars. Long or
    # empty text is dropped by the filter instead.
    key: str | None = Field(description="a short slot name such as user.home, or null")
    text: str = Field(description="one short sentence starting with 'User'")
    importance: float = Field(description="0 to 1")

    @field_validator("importance")
    @classmethod
    def _clamp(cls, value: float) -> float:
        return min(1.0, max(0.0, value))


class ExtractionOutput(BaseModel):
    items: list[ExtractedItem] = Field(max_length=3)


EXTRACTION_SCHEMA = ExtractionOutput


@dataclass
class ExtractionResult:
    candidates: list[Candidate] = field(default_factory=list)
    error: str | None = None
    rejected: list[str] = field(default_factory=list)  # model items dropped, with the reason, for logs


class JsonRunner(Protocol):
    def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: type[ExtractionOutput],
        *,
        max_tokens: int = ...,
        background: bool = ...,
    ) -> ExtractionOutput: ...


_KEY_ALIASES = dict(
    pair.split("=")
    for pair in (
        "name=user.name|full_name=user.name|first_name=user.name|username=user.name|"
        "nickname=user.preferred_name|preferred_name=user.preferred_name|call_me=user.preferred_name|"
        "location=user.home|city=user.home|home=user.home|residence=user.home|lives_in=user.home|"
        "home_city=user.home|current_city=user.home|location.city=user.home|hometown=user.origin|"
        "origin=user.origin|from=user.origin|birthplace=user.origin|nationality=user.nationality|"
        "job=user.work.role|occupation=user.work.role|role=user.work.role|profession=user.work.role|"
        "job_title=user.work.role|work.role=user.work.role|employer=user.work.employer|"
        "company=user.work.employer|workplace=user.work.employer|work=user.work.employer|"
        "work.employer=user.work.employer|birthday=user.birthday|date_of_birth=user.birthday|"
        "dob=user.birthday|diet=user.diet|dietary_preference=user.diet|language=user.preference.language|"
        "preferred_language=user.preference.language|units=user.preference.units|"
        "answer_length=user.preference.answer_length|response_length=user.preference.answer_length|"
        "tone=user.preference.tone|school=user.education.school|university=user.education.school"
    ).split("|")
)
_KEY_FAMILIES = (
    "name",
    "preferred_name",
    "surname",
    "home",
    "origin",
    "nationality",
    "grew_up_in",
    "work",
    "family",
    "allergy",
    "health",
    "likes",
    "dislikes",
    "favourite",
    "preference",
    "birthday",
    "birth_year",
    "pet",
    "plan",
    "diet",
    "education",
    "goal",
    "hobby",
    "skill",
    "language",
)


def normalize_key(raw: str | None, text: str = "") -> str | None:
    """Map a model's key onto the rules' scheme ("favorite color" -> "user.favourite.colour")."""
    if not raw:
        return None
    key = raw.strip().lower().replace("color", "colour").replace("favorite", "favourite").replace("fave", "favourite")
    key = re.sub(r"[\s/-]+", "_", key)
    key = re.sub(r"[^a-z0-9_.]", "", key).strip("._")
    key = re.sub(r"\.+", ".", key).removeprefix("user.").removeprefix("user_").removeprefix("users.")
    if not key:
        return None
    if key in _KEY_ALIASES:
        return _KEY_ALIASES[key]
    for prefix, family in (
        ("favourite_", "favourite"),
        ("allergic_to_", "allergy"),
        ("allergy_", "allergy"),
        ("likes_", "likes"),
        ("dislikes_", "dislikes"),
        ("plan_", "plan"),
        ("pet_", "pet"),
    ):
        if key.startswith(prefix):
            key = f"{family}.{key.removeprefix(prefix)}"
    if key == "allergy" or key == "allergies":
        thing = re.search(r"(?i)allergic to\s+([\w -]+)", text)
        return f"user.allergy.{slug(singular(thing.group(1)))}" if thing else None
    family = key.split(".", 1)[0]
    if family not in _KEY_FAMILIES or len(key) > 60:
        return None
    return "user." + key


def build_extraction_messages(user_text: str, assistant_text: str, known_keys: Sequence[str] = ()) -> list[ChatMessage]:
    from assistant.llm.prompts import EXTRACTION_SYSTEM_PROMPT, extraction_user_prompt

    return [
        ChatMessage("system", EXTRACTION_SYSTEM_PROMPT),
        ChatMessage("user", extraction_user_prompt(user_text, assistant_text, list(known_keys))),
    ]


_GLUE = {
    stem(word)
    for word in (
        "user",
        "users",
        "likes",
        "like",
        "loves",
        "love",
        "prefers",
        "prefer",
        "preference",
        "lives",
        "live",
        "living",
        "works",
        "work",
        "working",
        "has",
        "have",
        "having",
        "is",
        "named",
        "called",
        "name",
        "favourite",
        "favorite",
        "enjoys",
        "enjoy",
        "dislikes",
        "dislike",
        "hates",
        "wants",
        "want",
        "needs",
        "need",
        "plans",
        "plan",
        "planning",
        "allergic",
        "allergy",
        "from",
        "as",
        "job",
        "based",
        "born",
        "age",
        "old",
        "years",
        "year",
        "goal",
        "goals",
        "tries",
        "trying",
        "uses",
        "use",
        "feels",
        "feel",
        "usually",
        "often",
        "answer",
        "answers",
        "reply",
        "replies",
        "responses",
        "their",
        "them",
        "own",
        "currently",
        "recently",
        "also",
        "been",
    )
}


def _grounding_problem(text: str, user_text: str, assistant_text: str) -> str | None:
    """Why a model statement is not supported by the user's own words (None when it is)."""
    item_stems = content_stems(text) - _GLUE
    if not item_stems:
        return "says nothing specific"
    user_stems = content_stems(user_text)
    # Glue words count here: "User enjoys nursing" after "Do you enjoy nursing?" is the assistant's idea.
    if (content_stems(text) - {"user"}) & (content_stems(assistant_text) - user_stems):
        return "uses the assistant's words"
    novel = item_stems - user_stems
    if len(novel) == len(item_stems):
        return "not in the user's message"
    if len(novel) > max(1, len(item_stems) // 4):
        return "mostly not in the user's message"
    return None


_AI_SUBJECT = re.compile(r"(?i)^(?:the\s+)?(?:assistant|ai|bot|model|you|chatbot|system|i am an ai|as an ai)\b")
_DIRECTIVE_WORDS = re.compile(r"(?i)\b(?:always|never|please|from now on|don't|do not|stop|make sure)\b")
_MAX_STATEMENT_WORDS = 25
_SELF_REFERENCE = re.compile(
    r"(?i)\b(?:i|i'm|im|i've|i'd|i'll|me|my|mine|myself|we|we're|our|us|always|never|please|don't|do not)\b"
)


def _statements(text: str) -> list[str]:
    """A model item often packs several sentences; each must stand on its own."""
    text = normalize_text(text).replace("\n", " ").strip().strip("\"'")
    pieces = re.split(r"(?<=[.!?;])\s+|,?\s+and\s+(?=User\b)", text)
    return [piece.strip().rstrip(" .!;") for piece in pieces if piece.strip().rstrip(" .!;")][:3]


def _statement_candidate(
    statement: str, item: ExtractedItem, context: tuple[str, str, str, datetime], rejected: list[str]
) -> Candidate | None:
    user_text, assistant_text, source_id, now = context
    if _AI_SUBJECT.match(statement):
        rejected.append(f"about the assistant: {statement!r}")
        return None
    if re.match(r"(?i)^(?:i|i'm|i've|my|me)\b", statement):
        statement = to_third_person(statement)
    if len(statement.split()) > _MAX_STATEMENT_WORDS:
        rejected.append(f"too long: {statement[:60]!r}")
        return None
    if redact(statement).found:
        rejected.append("contains a secret")
        return None
    if problem := _grounding_problem(statement, user_text, assistant_text):
        rejected.append(f"{problem}: {statement!r}")
        return None
    kind = Kind(item.kind)
    if kind is Kind.PROCEDURAL and not _DIRECTIVE_WORDS.search(user_text):
        rejected.append(f"not a rule the user gave: {statement!r}")
        return None
    if kind is not Kind.PROCEDURAL and not re.match(r"(?i)^user\b", statement):
        rejected.append(f"not about the user: {statement!r}")
        return None
    # The rules know the key scheme: when they can read the statement, their key and wording win.
    ruled = extract_explicit(to_first_person(statement), now=now, source_id=source_id)
    positive = [candidate for candidate in ruled if not candidate.retracts]
    if len(positive) == 1 and kind is not Kind.PROCEDURAL:
        return replace(positive[0], origin=Origin.EXTRACTED, confidence=0.6, importance=positive[0].importance)
    key = normalize_key(item.key, statement) if kind in (Kind.SEMANTIC, Kind.PREFERENCE) else None
    if key is not None and key.split(".")[1] in _RULE_FAMILIES:
        key = None  # a rule-family key the rules could not confirm: the model likely guessed it
    return Candidate(
        kind=kind,
        text=upper_first(statement),
        key=key,
        importance=round(min(0.9, max(0.1, item.importance)), 3),
        confidence=0.5,
        origin=Origin.EXTRACTED,
        source_ids=[source_id] if source_id else [],
        value=None,
    )


# Keys only the deterministic rules may hand out: their values must be read, not guessed.
_RULE_FAMILIES = {
    "name",
    "preferred_name",
    "surname",
    "home",
    "origin",
    "nationality",
    "work",
    "family",
    "allergy",
    "health",
    "birthday",
    "birth_year",
    "diet",
    "favourite",
    "likes",
    "dislikes",
    "pet",
}


def extract_with_model(
    runner: JsonRunner,
    user_text: str,
    assistant_text: str,
    *,
    source_id: str,
    now: datetime,
    known_keys: Sequence[str] = (),
    max_tokens: int = 160,
) -> ExtractionResult:
    """Ask the model for memories in this exchange; keep only what the user's words support.

    Retries once when the model's output is invalid; a second failure comes back as
    `error` (the raw message is still in the episodic log). GenerationCancelled — the user
    started typing — propagates so the caller's job can run again later.
    """
    user_clean = redact(normalize_text(user_text)).text
    assistant_clean = redact(normalize_text(assistant_text)).text
    if not user_clean or (_is_question(user_clean) and len(_sentences(user_clean)) == 1):
        return ExtractionResult()
    if not _SELF_REFERENCE.search(user_clean):
        return ExtractionResult()  # nothing about the user can be grounded in it; spare the model
    messages = build_extraction_messages(resolve_dates(user_clean, now), assistant_clean, known_keys)
    output: ExtractionOutput | None = None
    error: str | None = None
    for attempt in range(2):
        try:
            output = runner.complete_json(messages, EXTRACTION_SCHEMA, max_tokens=max_tokens, background=True)
            break
        except GenerationCancelled:
            raise
        except AssistantError as failure:
            error = str(failure)
            if attempt == 0:
                messages = [
                    *messages,
                    ChatMessage(
                        "user", 'That was not valid. Reply with one JSON object like {"items": []} and nothing else.'
                    ),
                ]
    if output is None:
        return ExtractionResult(error=f"memory extraction failed after a retry: {error}")
    rejected: list[str] = []
    candidates: list[Candidate] = []
    context = (user_clean, assistant_clean, source_id, now)
    for item in output.items:
        statements = _statements(item.text)
        if not statements:
            rejected.append("empty text")
        for statement in statements:
            candidate = _statement_candidate(statement, item, context, rejected)
            if candidate is not None:
                candidates.append(candidate)
    return ExtractionResult(candidates=_dedupe(candidates), rejected=rejected)


def merge_candidates(explicit: Sequence[Candidate], model: Sequence[Candidate]) -> list[Candidate]:
    """Rules win on the same key or the same statement; duplicates collapse."""
    return _dedupe([*explicit, *model_additions(explicit, model)])


def model_additions(explicit: Sequence[Candidate], model: Sequence[Candidate]) -> list[Candidate]:
    """The model's candidates that say something the rules' candidates do not."""
    explicit_keys = {candidate.key for candidate in explicit if candidate.key}
    explicit_texts = {_text_identity(candidate.text) for candidate in explicit}
    # A model fact made only of words the rules' facts already hold restates them, often glued
    # together ("User lives in Lisbon and I have a dog named Rex").
    said_by_rules = {word for candidate in explicit for word in content_stems(candidate.text)}
    return _dedupe(
        [
            candidate
            for candidate in model
            if not (candidate.key and candidate.key in explicit_keys)
            and _text_identity(candidate.text) not in explicit_texts
            and not (said_by_rules and content_stems(candidate.text) <= said_by_rules)
        ]
    )
