"""The headless core the front ends drive."""
