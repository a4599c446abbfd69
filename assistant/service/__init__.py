"""The warm local service: one process per user and data dir that keeps the model, the embedder and the store loaded.

`client` is what the thin front ends import (the standard library and the foundation only);
`server` and `handlers` hold the heavy core and run only inside `assistant serve`.
"""
