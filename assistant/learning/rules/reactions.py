"""Allergies read across a whole sentence: what a food does to the user, and "I'm not allergic after all".

The clause rules read an allergy when it starts a clause ("shrimp makes my throat swell up").
People also say it the other way round ("my throat swells up when I eat peanuts"), as a
condition ("if I eat peanuts my throat swells"), with a pronoun for a food named a sentence
earlier ("Oh and peanuts... they make my throat swell up"), or take it back without naming the
thing again ("never mind the peanut thing... I'm not allergic after all"). These frames read
the sentence (and the message around it) for a reaction and an allergen the lexicon knows.

The lexicon is data: one line per allergen, its key first, then the words for it (English, and
the commonest words in Portuguese, Spanish, French, German and Italian, so a key is the same
whichever language the user wrote in). Add a word to a line, and a corpus row.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.learning.candidate import Candidate, read_from_user
from assistant.learning.rules.family import RELATION_PATTERN
from assistant.memory.language import singular
from assistant.memory.types import Kind

# key: the words for it, comma-separated (accents and case do not matter; a plural is read by its singular)
_LEXICON = """
peanut: peanut, groundnut, amendoim, amendoins, cacahuete, cacahuetes, arachide, arachides, erdnuss, erdnusse
tree_nut: tree nut
nut: frutos secos, nut, nozes, noz, nueces, nuez, noix, nusse, nuss, noci
walnut: walnut
cashew: cashew, caju, anacardo
almond: almond, amendoa, almendra, amande, mandel, mandorla
hazelnut: hazelnut, avela, avellana, noisette, haselnuss, nocciola
pistachio: pistachio, pistacho, pistache, pistazie
pecan: pecan
shellfish: frutti di mare, meeresfruchte, fruits de mer, shellfish, seafood, marisco, mariscos
shrimp: shrimp, camarao, camaroes, gamba, gambas, crevette, crevettes, garnele, garnelen, gamberi
prawn: prawn
crab: crab, caranguejo, cangrejo, crabe
lobster: lobster, lagosta, langosta, homard
mussel: mussel, mexilhao, mejillon
fish: fish, peixe, pescado, poisson, fisch, pesce
egg: egg, ovo, ovos, huevo, huevos, oeuf, oeufs, eier, uova, uovo
milk: milk, leite, leche, lait, milch
dairy: dairy, laticinios, lacteos, lacteo
lactose: lactose, lactosa, laktose, lattosio
soy: soy, soya, soja
wheat: wheat, trigo, weizen
gluten: gluten
sesame: sesame, sesamo, gergelim, sesam
mustard: mustard, mostarda, mostaza, moutarde, senf, senape
celery: celery, aipo, apio, celeri, sellerie, sedano
kiwi: kiwi
strawberry: strawberry, morango, morangos, fresa, fresas, fraise, fraises, erdbeere, erdbeeren, fragola, fragole
mango: mango
banana: banana, platano
peach: peach, pessego, melocoton, pfirsich
cat: cat, gato, gatos, katze, katzen, gatto, gatti
dog: dog, cao, caes, perro, perros, chien, chiens, hund, hunde
pollen: pollen, polen, polens
dust_mite: dust mite, acaro, acaros
bee_sting: bee sting
bee: bee, abelha, abeja, abeille, biene
wasp: wasp, vespa, avispa, guepe, wespe
latex: latex
penicillin: penicillin, penicilina, penicilline, penizillin, penicillina
amoxicillin: amoxicillin, amoxicilina, amoxicilline
ibuprofen: ibuprofen, ibuprofeno, ibuprofene
aspirin: aspirin, aspirina, aspirine
codeine: codeine, codeina
sulphite: sulphite, sulfite, sulfito
"""


def _fold(text: str) -> str:
    """Lowercase, without accents: 'Amendoim', 'amêndoa' and 'AMENDOA' read alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _parse(lexicon: str) -> dict[tuple[str, ...], str]:
    words: dict[tuple[str, ...], str] = {}
    for line in lexicon.strip().splitlines():
        key, _, names = line.partition(":")
        for name in names.split(","):
            words[tuple(_fold(name).split())] = key.strip()
    return words


_ALLERGENS = _parse(_LEXICON)
_LONGEST = max(len(name) for name in _ALLERGENS)


@dataclass(frozen=True)
class Named:
    said: str  # as the user wrote it ("Peanuts")
    key: str  # the allergy key's last part ("peanut")
    at: int  # where in the text


def allergens_named(text: str) -> list[Named]:
    """The allergens a text names, in order, each once: 'peanuts and amêndoas' -> peanut, almond."""
    tokens = [(m.group(0), _fold(m.group(0)), m.start()) for m in re.finditer(r"[^\W\d_]+", text)]
    found: list[Named] = []
    index = 0
    while index < len(tokens):
        for size in range(_LONGEST, 0, -1):
            window = tokens[index : index + size]
            if len(window) < size:
                continue
            folded = tuple(token[1] for token in window)
            key = _ALLERGENS.get(folded) or _ALLERGENS.get((*folded[:-1], _fold(singular(folded[-1]))))
            if key:
                if all(named.key != key for named in found):
                    said = text[window[0][2] : window[-1][2] + len(window[-1][0])]
                    found.append(Named(said, key, window[0][2]))
                index += size - 1
                break
        index += 1
    # "a tree nut allergy": the nut is the tree nut.
    keys = {named.key for named in found}
    return [named for named in found if not (named.key == "nut" and "tree_nut" in keys)]


# What an allergic reaction sounds like, wherever it is in the sentence.
_REACTION = re.compile(
    r"(?i)\b(?:(?:throat|lips?|tongue|face|mouth|eyes|skin|airways?)\s+(?:\w+\s+)?(?:swells?|swelling|swelled|"
    r"swollen|closes?|closing|closed|itch\w*|tingl\w*|burns?|burning|blows? up)|swollen\s+(?:throat|lips?|tongue|"
    r"face|eyes)|hives|rash(?:es)?|welts|break(?:s|ing)?\s+(?:me\s+)?out|broke\s+out|come\s+out\s+in|"
    r"anaphyla\w*|epi-?pens?|allergic\s+reaction|can'?t\s+breathe|(?:bad|severe|serious|awful|nasty)\s+reactions?)"
)
# The reaction is the user's: their body, or "I" get it.
_MINE = re.compile(r"(?i)\b(?:my|me|i|i'm|i've|im)\b")
_SOMEONE_ELSE = re.compile(
    r"(?i)\b(?:my|our)\s+(?:" + RELATION_PATTERN + r"|friend|colleague|co-?worker|guest|client|neighbou?r|flatmate|"
    r"roommate|housemate|boss|kid|kids|child|baby)\b|\b(?:his|her|their)\s+(?:throat|lips?|tongue|face|skin)\b|"
    r"\b(?:she|he)\s+(?:gets?|breaks?|eats?|has)\b"
)
_NOT_REAL = re.compile(
    r"(?i)^\s*(?:what if|imagine|suppose|pretend|hypothetically)\b|\bif i were\b|\bwould\b|\bin (?:a|the|my) "
    r"(?:story|novel|game|dream)\b|\b(?:you|the assistant|the doctor|doctor|he|she|they|someone|people)\s+"
    r"(?:said|says|told|tell|think|thinks|thought|reckons?|claims?)\b"
)
_NEGATED = re.compile(r"(?i)\b(?:don'?t|doesn'?t|didn'?t|never|not|no longer|isn'?t|aren'?t|wasn'?t|won'?t|no)\b")
_NO_LONGER = re.compile(r"(?i)\b(?:anymore|any more|no longer|any longer)\b")
_FINE = re.compile(r"(?i)^\W*(?:\w+\W+){0,2}(?:is|are|'s|'re)\s+(?:fine|ok|okay|no problem|safe)\b")
_POINTS_BACK = re.compile(r"(?i)^\W*(?:they|it|them|those|these|that|this stuff)\b|\b(?:they|it) (?:makes?|gives?)\b")

# Taking an allergy back without naming it again: the message names it ("the peanut thing").
_NOT_ALLERGIC = re.compile(
    r"(?i)\b(?:(?:i'm|i am|im)\s+(?:actually\s+|really\s+)?not\s+(?:actually\s+|really\s+|even\s+)?allergic\b"
    r"(?!\s+to\b)|i\s+(?:don't|do not|dont)\s+(?:actually\s+|really\s+)?have\s+(?:an?\s+|any\s+)?(?:[\w-]+\s+)?"
    r"allerg(?:y|ies)\b|(?:it was|it's|just) a false alarm|i was never allergic\b(?!\s+to\b)|"
    r"(?:never mind|forget|ignore|scratch)\s+(?:what i said about\s+)?(?:the|my)\s+[\w -]{2,25}?\s+allergy)"
)


def _make(named: Named, source_id: str, *, retracts: bool = False, said_in: str = "") -> Candidate:
    thing = named.said if named.said.isupper() and len(named.said) > 1 else named.said.lower()
    text = f"User is no longer allergic to {thing}" if retracts else f"User is allergic to {thing}"
    return read_from_user(
        Kind.SEMANTIC,
        text,
        f"user.allergy.{named.key}",
        thing,
        importance=0.95,
        confidence=0.85,
        source_id=source_id,
        retracts=retracts,
        said_in=said_in,
    )


def reaction_allergies(sentence: str, before: Sequence[str], source_id: str) -> list[Candidate]:
    """'my throat swells up when I eat peanuts' -> the user is allergic to peanuts.

    `before` holds the message's earlier sentences, for a pronoun ("they make my throat swell").
    """
    reaction = _REACTION.search(sentence)
    if reaction is None or not _MINE.search(sentence) or _SOMEONE_ELSE.search(sentence):
        return []
    if _NOT_REAL.search(sentence):
        return []
    negated = bool(_NEGATED.search(sentence[: reaction.start()].rsplit(",", 1)[-1]))
    if negated and not _NO_LONGER.search(sentence):
        return []  # "peanuts don't make my throat swell": nothing to learn; "... anymore": it ended
    named = [n for n in allergens_named(sentence) if not _FINE.match(sentence[n.at + len(n.said) :])]
    if not named and before and _POINTS_BACK.search(sentence):
        named = allergens_named(before[-1])
    if not named or len(named) > 3:
        return []
    return [_make(n, source_id, retracts=negated, said_in=sentence) for n in named]


def bare_retractions(sentence: str, message: Sequence[str], source_id: str) -> list[Candidate]:
    """'never mind the peanut thing... I'm not allergic after all' -> ends the peanut allergy."""
    if not _NOT_ALLERGIC.search(sentence) or _SOMEONE_ELSE.search(sentence) or _NOT_REAL.search(sentence):
        return []
    named = allergens_named(sentence)
    if not named:
        for other in message:
            named = allergens_named(other)
            if named:
                break
    return [_make(n, source_id, retracts=True, said_in=sentence) for n in named[:3]]
