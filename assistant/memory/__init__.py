"""The memory engine: storage, embeddings, recall, extraction and maintenance (headless)."""
