"""One module per CLI command group; each exposes `register(subparsers)`.

Handlers get the parsed args, do their work through the headless core and return an
exit code. They raise AssistantError for expected failures; cli.main prints it.
"""
