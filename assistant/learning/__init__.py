"""Learning: turning what the user says into memories (headless)."""
