"""Live channels: stream keys, ingest hooks, sessions, health and recordings (P20)."""
