"""Tunables of the message box (kept here, not in shared.config, so the feature stays apart)."""

from dataclasses import dataclass


@dataclass
class MessageSettings:
    """Limits and cache times; tests may change the module-level instance."""

    rate_limit: int = 5  # messages per viewer session ...
    rate_window_seconds: int = 60  # ... per this many seconds
    feed_cache_seconds: float = 3.0  # in-process cache of the published feed
    feed_max_age: int = 5  # Cache-Control max-age for browsers and the CDN
    vote_fold_seconds: float = 5.0  # how often one process folds new votes into the tallies
    vote_shards: int = 16
    feed_size: int = 200  # published messages kept in the feed document (newest first)


settings = MessageSettings()
