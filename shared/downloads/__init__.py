"""Handouts per webcast (P37): documents offered to viewers after the malware gate (P38)."""
