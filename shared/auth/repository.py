"""Admin sessions, one-time tokens and throttle counters, each keyed by its own id."""

from shared.auth.models import OneTimeToken, Session, Throttle
from shared.cosmos.repository import KeyedRepository

sessions = KeyedRepository(container="sessions", model=Session)
tokens = KeyedRepository(container="tokens", model=OneTimeToken)
throttles = KeyedRepository(container="throttles", model=Throttle)
