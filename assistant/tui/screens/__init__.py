"""Screens pushed over the chat: memories, inspector, settings, first-run setup, dialogs."""
