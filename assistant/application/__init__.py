"""The headless core the front ends drive: the chat session, the memory service, prompt assembly."""
