"""`assistant mcp`: the memory, served over the Model Context Protocol to other local AI tools.

A front end like the CLI and the TUI: every tool is a call into the memory service, so a
memory remembered or forgotten here is remembered or forgotten everywhere, with the same
redaction, the same audit log and the same policies.
"""
