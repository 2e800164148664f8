"""What wires the features to the outside: blob-event consumers and privacy handlers."""
