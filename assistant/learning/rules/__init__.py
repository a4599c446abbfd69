"""The rule grammar, one module per family of statements the user makes about themselves (English;
other_languages.py reads a few plain statements in five more languages).

    identity      name, surname, "call me", nationality, the name said in passing ("I'm Tom")
    home          where they live, moved to, come from, grew up
    work          employer, role, retired / self-employed, leaving a job, school
    family        relatives' names, how many children or siblings, who they married
    pets          "I have a dog called Rex"
    family_facts  what they say about a relative ("my partner Rui is vegetarian")
    allergies     "I'm allergic to peanuts", "I have a nut allergy"
    health        conditions ("I have asthma", "I'm diabetic")
    diet          "I'm vegan", "I don't eat pork"
    likes         likes, dislikes, favourites
    preferences   "I prefer ...", answer length, reply language, units, emoji, tone, "always/never ..." rules
    birthdays     birthdays, age, birth year
    plans         plans and appointments with a date
    reactions     allergies read across a sentence ("my throat swells up when I eat peanuts"), retractions
                  that name their allergy a sentence earlier; the allergen lexicon (many languages)
    other_languages  name, home and allergy said plainly in Portuguese, Spanish, French, German, Italian

Shared helpers: sentences (sentence and clause splitting), values (cutting a value out of a
clause), words (phrase fragments several families use), rule (the `@rule` decorator). The order
the rules are tried in is stated once, in assistant/learning/explicit.py.
"""
