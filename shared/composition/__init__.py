"""What wires features to the outside: tables and jobs that span features (decision 0042)."""
