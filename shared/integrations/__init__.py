"""Embedding in customer sites and customer servers registering participants (P35)."""
