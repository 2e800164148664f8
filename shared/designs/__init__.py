"""The webcast's own page, designed by the customer: theme, blocks, texts per language (P36)."""
