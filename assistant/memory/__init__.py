"""Storage and recall: the LanceDB store, embeddings, the engine, recall, redaction, maintenance."""
