"""Everything that touches a GGUF model: the catalog, file validation and the runner."""
