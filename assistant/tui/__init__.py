"""The Textual app. Only this package and cli.py import textual."""
