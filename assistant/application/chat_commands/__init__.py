"""Memory commands typed in chat ("remember that …", "forget …", "/rule add …").

`grammar` recognises them in the user's own message, deterministically (the model never
decides whether to store or delete something); `handlers` carries them out through the
memory service and words the answer.
"""
