"""The plainest statements in Portuguese, Spanish, French, German and Italian: name, home, allergy, diet.

The English grammar reads only English; the model's extraction reads any language but the
starter model is weak at it. These frames read the few statements that matter most, said
plainly ("Moro em Lisboa e sou alérgica a amendoim"), wherever they stand in a sentence. Each
frame is data: the words that open the statement, one line per language; the value runs to the
next "and", comma or full stop. An allergen gets the same key in every language (reactions.py's
lexicon), so "I'm not allergic to peanuts after all" ends "sou alérgica a amendoim".
"""

from __future__ import annotations

import re

from assistant.learning.candidate import Candidate, read_from_user
from assistant.learning.rules.reactions import allergens_named
from assistant.memory.language import slug, smart_title
from assistant.memory.types import Kind

# family: the openings, one language a line (accents optional where people drop them)
_OPENINGS = {
    "name": (
        r"chamo-me|(?:eu\s+)?me\s+chamo|(?:o\s+)?meu\s+nome\s+[ée]",  # pt
        r"me\s+llamo|mi\s+nombre\s+es",  # es
        r"je\s+m'appelle|mon\s+nom\s+est",  # fr
        r"ich\s+hei(?:ß|ss)e|mein\s+name\s+ist",  # de
        r"mi\s+chiamo|il\s+mio\s+nome\s+[èe]",  # it
    ),
    "home": (
        r"(?:eu\s+)?(?:moro|vivo|resido)\s+(?:em|no|na)",  # pt
        r"(?:yo\s+)?(?:vivo|resido)\s+en",  # es
        r"j'habite\s+(?:à|a|au|en)|je\s+vis\s+(?:à|a|au|en)",  # fr
        r"ich\s+(?:wohne|lebe)\s+in",  # de
        r"(?:io\s+)?(?:abito|vivo)\s+(?:a|in)",  # it
    ),
    "allergy": (
        r"(?:eu\s+)?sou\s+al[ée]rgic[oa]s?\s+(?:a|ao|à|aos|às)|tenho\s+alergia\s+(?:a|ao|à|aos|às)",  # pt
        r"soy\s+al[ée]rgic[oa]s?\s+(?:a|al)|tengo\s+alergia\s+(?:a|al)",  # es
        r"je\s+suis\s+allergique\s+(?:à|a|au|aux)|j'ai\s+une\s+allergie\s+(?:à|a|au|aux)",  # fr
        r"(?:ich\s+)?bin\s+allergisch\s+gegen|ich\s+habe\s+eine\s+allergie\s+gegen",  # de
        r"sono\s+allergic[oa]\s+(?:a|al|alle|ai|agli)",  # it
    ),
}
# "Sou vegetariana", "ich bin Veganerin": the diet itself is the value, in English.
_DIETS = {
    "vegetarian": r"vegetarian[oa]s?|v[ée]g[ée]tarien(?:ne)?s?|vegetarier(?:in)?",
    "vegan": r"vegan[oa]?s?|v[ée]gane?s?|v[ée]g[ée]talien(?:ne)?s?|veganer(?:in)?",
    "pescatarian": r"pescetarian[oa]s?|pescatarian[oa]s?|pesc[ée]tarien(?:ne)?s?|pescetarier(?:in)?",
}
_DIET_OPENING = r"(?:(?:eu\s+)?sou|(?:yo\s+)?soy|je\s+suis|(?:ich\s+)?bin|(?:io\s+)?sono)\s+(?:un[ae]?\s+|eine?\s+)?"
_DIET_FRAMES = {
    diet: re.compile(r"(?i)(?:^|(?<=[\s,;:]))" + _DIET_OPENING + r"(?:" + spellings + r")\b")
    for diet, spellings in _DIETS.items()
}
_FRAMES = {
    family: re.compile(r"(?i)(?:^|(?<=[\s,;:]))(?:" + "|".join(openings) + r")\s+(?P<value>[^,.;!?()]+)")
    for family, openings in _OPENINGS.items()
}
# Where a value ends: the next statement ("e", "y", "et", "und", "ma", ...).
_VALUE_END = re.compile(
    r"(?i)\s+(?:e|y|et|und|ed|mas|pero|mais|aber|ma|com|con|avec|mit|desde|depuis|seit|há|hace|"
    r"agora|ahora|maintenant|jetzt|adesso|ora)\s"  # "moro em Coimbra agora": the place ends before "now"
)
_NEGATION_BEFORE = re.compile(r"(?i)\b(?:não|nao|no|ne|nicht|non)\s*$")


def _value(raw: str) -> str:
    value = _VALUE_END.split(" " + raw.strip() + " ", maxsplit=1)[0].strip()
    return value if 0 < len(value.split()) <= 4 else ""


def _make(text: str, key: str, value: str, importance: float, source_id: str, sentence: str) -> Candidate:
    return read_from_user(
        Kind.SEMANTIC, text, key, value, importance=importance, confidence=0.8, source_id=source_id, said_in=sentence
    )


def other_language_facts(sentence: str, source_id: str) -> list[Candidate]:
    """Name, home, allergies and diet said plainly in Portuguese, Spanish, French, German or Italian."""
    found: list[Candidate] = []
    for family, frame in _FRAMES.items():
        for match in frame.finditer(sentence):
            if _NEGATION_BEFORE.search(sentence[: match.start()]):
                continue  # "não moro em Lisboa": not where they live
            value = _value(match.group("value"))
            if not value:
                continue
            if family == "name" and value[:1].isupper():
                found.append(_make(f"User's name is {value}", "user.name", value, 0.9, source_id, sentence))
            elif family == "home" and value[:1].isupper():
                place = smart_title(value)
                found.append(_make(f"User lives in {place}", "user.home", place, 0.8, source_id, sentence))
            elif family == "allergy":
                named = allergens_named(value)
                things = [(n.said.lower(), n.key) for n in named] or [(value.lower(), slug(value))]
                for said, key in things[:3]:
                    found.append(
                        _make(f"User is allergic to {said}", f"user.allergy.{key}", said, 0.95, source_id, sentence)
                    )
    for diet, frame in _DIET_FRAMES.items():
        diet_said = frame.search(sentence)
        if diet_said and not _NEGATION_BEFORE.search(sentence[: diet_said.start()]):
            found.append(_make(f"User is {diet}", "user.diet", diet, 0.85, source_id, sentence))
    return found
