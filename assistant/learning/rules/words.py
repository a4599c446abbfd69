"""Phrase fragments and word lists that more than one family of rules reads.

A word list only one family needs lives with that family (job titles in work.py, relations in
family.py, conditions in health.py, ...).
"""

from __future__ import annotations

import re

I_AM = r"(?:i'm|i am|im)"
I_HAVE = r"(?:i have|i've got|i have got|i've|ive got)"
# "...anymore" at the end of a statement undoes it: "I live in Paris, not anymore".
NEGATED_TAIL = re.compile(r"(?i)\b(?:anymore|any more|any longer|no more)\b")

# "I'm Portuguese" is a nationality, never a name.
NATIONALITIES = frozenset(
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
