"""What wires features to the outside: blob-event consumers, privacy handlers, and jobs that
span features (decision 0042)."""
