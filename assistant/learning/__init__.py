"""Learning: turning what the user says into memories (headless).

    explicit.py          extract_explicit: the deterministic rules (rules/, one module per family of
                         statements), tried in the order stated there
    remember.py          remember_candidates: what "remember that ..." stores
    model_extraction.py  extract_with_model, model_additions: the model's extraction (any language,
                         slots of schema.MODEL_SLOTS), kept only where the user's own words hold the
                         value; model_keys.py maps a free-form key ("favorite color") onto the schema
    candidate.py         Candidate, the type both sources produce
    consolidate.py       Consolidator: candidates -> add, reinforce, supersede or retract memories
    pasted.py            authored_text: the user's own lines, without pasted blocks and quotes

Learning builds on memory (storage, language, dates, redaction) and llm; neither imports it.
Import from the modules themselves: this package re-exports nothing, so reading one module
(pasted.py, say) does not load the store.
"""
