"""Small English helpers shared by the extraction rules and the model-output filter."""

from __future__ import annotations

import re
import unicodedata

STOPWORDS = frozenset(
    """a an the and or but if then so of to in on at by for with from as into onto about over under is am are
    was were be been being have has had do does did i me my mine myself you your yours we our us they them their
    he him his she her it its this that these those there here what which who whom whose when where why how
    not no nor very just also too really quite some any all each every more most much many such can could will
    would shall should may might must user user's users now still yet than very s t don doesn didn isn aren
    wasn weren won wouldn shouldn can't cannot i'm i've i'd i'll it's that's let's""".split()
)

_QUOTES = str.maketrans({"‘": "'", "’": "'", "‛": "'", "ʼ": "'", "“": '"', "”": '"', "„": '"', "‟": '"', "\u00a0": " "})


def normalize_text(text: str) -> str:
    """NFKC, straight quotes, single spaces (newlines kept as sentence breaks)."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = "".join(char for char in text if unicodedata.category(char) not in ("Cc", "Cf") or char == "\n")
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r" *\n+ *", "\n", text).strip()


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+(?:['-][^\W_]+)*", text.casefold())


def stem(word: str) -> str:
    """A crude stem, good enough to tell that "lives" and "living" share a word."""
    word = word.casefold().removesuffix("'s")
    for suffix in ("ing", "ies", "ied", "es", "ed", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if suffix in ("ies", "ied"):
                base += "y"
            return base.removesuffix("e") if len(base) > 3 else base
    return word.removesuffix("e") if len(word) > 3 else word


def content_stems(text: str) -> set[str]:
    return {stem(word) for word in words(text) if word not in STOPWORDS and len(word) > 1}


def slug(text: str, *, max_words: int = 5) -> str:
    kept = [word for word in words(text) if word not in ("a", "an", "the", "my", "some")]
    joined = "_".join(kept[:max_words])
    return re.sub(r"[^\w]+", "_", joined).strip("_")


_PLURAL_IES = {
    "movies",
    "cookies",
    "zombies",
    "pies",
    "ties",
    "lies",
    "brownies",
    "selfies",
    "rookies",
    "calories",
    "species",
    "series",
    "smoothies",
    "hoodies",
    "genies",
    "aunties",
    "goalies",
    "veggies",
    "lassies",
}


def singular(word: str) -> str:
    lowered = word.casefold()
    if lowered in _PLURAL_IES:
        return word[:-1]
    if lowered.endswith("ies") and len(lowered) > 4:
        return word[:-3] + "y"
    if lowered.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if lowered.endswith("s") and not lowered.endswith(("ss", "us", "is")) and len(lowered) > 3:
        return word[:-1]
    return word


def article(noun_phrase: str) -> str:
    return "an" if noun_phrase[:1].lower() in "aeiou" else "a"


def smart_title(text: str) -> str:
    """Capitalise a lowercase proper name ("new york" -> "New York"); leave typed capitals alone."""
    if text != text.lower():
        return text
    small = {"of", "de", "da", "do", "la", "le", "the", "and", "upon", "on", "am", "von", "van", "der", "del"}
    parts = text.split(" ")
    return " ".join(
        part if (index > 0 and part in small) else "-".join(p[:1].upper() + p[1:] for p in part.split("-"))
        for index, part in enumerate(parts)
    )


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- first person -> "User" -------------------------------------------------------------------

_MODALS = {"can", "could", "will", "would", "should", "shall", "may", "might", "must", "used"}
_IRREGULAR = {"have": "has", "do": "does", "go": "goes", "am": "is", "be": "is", "'m": "is"}
_NOT_VERBS = {
    "also",
    "really",
    "just",
    "still",
    "always",
    "never",
    "often",
    "usually",
    "sometimes",
    "now",
    "currently",
    "only",
    "already",
    "actually",
    "totally",
    "definitely",
    "recently",
    "mostly",
}


def third_person_verb(verb: str) -> str:
    lowered = verb.lower()
    if lowered in _IRREGULAR:
        return _IRREGULAR[lowered]
    if (
        lowered in _MODALS
        or (lowered.endswith("ed") and not lowered.endswith("eed"))
        or lowered in _NOT_VERBS
        or not lowered.isalpha()
    ):
        return verb
    if lowered.endswith("y") and len(lowered) > 2 and lowered[-2] not in "aeiou":
        return verb[:-1] + "ies"
    if lowered.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    return verb + "s"


def to_first_person(text: str) -> str:
    """The inverse of to_third_person for the model's "User ..." sentences, so the rules can read them."""
    out = re.sub(r"^User's\b", "My", text.strip())
    out = re.sub(r"^User (?:is|'s)\b", "I am", out)
    out = re.sub(r"^User has\b", "I have", out)
    out = re.sub(r"^User does\b", "I do", out)
    out = re.sub(r"^User doesn't\b", "I don't", out)

    def plain(match: re.Match[str]) -> str:
        adverbs, verb = match.group(1) or "", match.group(2)
        lowered = verb.lower()
        if lowered.endswith("ies") and len(lowered) > 4:
            base = verb[:-3] + "y"
        elif lowered.endswith(("sses", "shes", "ches", "xes", "zes", "oes")):
            base = verb[:-2]
        elif lowered.endswith("s") and not lowered.endswith("ss"):
            base = verb[:-1]
        else:
            base = verb
        return f"I {adverbs}{base}"

    out = re.sub(r"^User\s+((?:(?:also|really|currently|now|still|usually|often)\s+)*)([A-Za-z]+)", plain, out)
    out = re.sub(r"\b(?:their|the user's)\b", "my", out)
    return out


_CONTRACTIONS = [
    (r"\bI'm\b|\bI am\b", "User is"),
    (r"\bI've\b", "User has"),
    (r"\bI'll\b", "User will"),
    (r"\bI'd\b", "User would"),
    (r"\bI don't\b|\bI do not\b", "User doesn't"),
    (r"\bI was\b", "User was"),
    (r"\bI wasn't\b", "User wasn't"),
    (r"\bI'm not\b", "User is not"),
]


def to_third_person(text: str) -> str:
    """Rewrite a first-person statement as data about the user ("I live in X" -> "User lives in X")."""
    out = text
    for pattern, replacement in _CONTRACTIONS:
        out = re.sub(pattern, replacement, out, flags=re.IGNORECASE)

    def verb_after_i(match: re.Match[str]) -> str:
        return f"User {match.group(1) or ''}{third_person_verb(match.group(2))}"

    out = re.sub(r"\bI\s+((?:(?:" + "|".join(_NOT_VERBS) + r")\s+)*)([A-Za-z']+)", verb_after_i, out)
    out = re.sub(r"(^|[.!?]\s+)[Mm]y\b", lambda m: m.group(1) + "User's", out)
    out = re.sub(r"\bmy\b", "their", out, flags=re.IGNORECASE)
    out = re.sub(r"\bmyself\b", "themself", out, flags=re.IGNORECASE)
    out = re.sub(r"\bmine\b", "the user's", out, flags=re.IGNORECASE)
    out = re.sub(r"\bme\b", "the user", out, flags=re.IGNORECASE)
    out = re.sub(r"\bI\b", "User", out)
    return upper_first(out.strip())
