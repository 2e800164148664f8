"""A route class that builds a route on its first use, so a cold start pays for what it serves."""

import threading
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import get_name

# Reentrant: FastAPI's constructor may read the route it is building.
_BUILD_LOCK = threading.RLock()


class DeferredAPIRoute(APIRoute):
    """An APIRoute whose FastAPI constructor runs when one of its parts is first read.

    FastAPI builds a route (its dependencies, parameter and response validators) at the
    decorator and once more for each inclusion, at the included router's first request; the
    build at the decorator serves nothing before then, and a cold start's first request
    reaches a few routers only. `path` and `name` are set at once: `include_router` reads
    them to check that a route without a prefix has a path (decision 0046).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        name = options.get("name")
        self.path = path
        self.name = get_name(endpoint) if name is None else name
        self._deferred: tuple[str, Callable[..., Any], dict[str, Any]] | None = (
            path,
            endpoint,
            options,
        )

    def __getattr__(self, attribute: str) -> Any:
        """Builds the route when an attribute only the build sets is read, then answers it."""
        if "_deferred" in self.__dict__:
            with _BUILD_LOCK:
                deferred = self.__dict__.get("_deferred")
                if deferred is not None:
                    self._deferred = None  # marks the build under way for reentrant reads
                    path, endpoint, options = deferred
                    try:
                        super().__init__(path, endpoint, **options)
                    except BaseException:
                        self._deferred = deferred
                        raise
                    del self.__dict__["_deferred"]
        return object.__getattribute__(self, attribute)

    @property
    def built(self) -> bool:
        """Whether FastAPI's constructor has run for this route."""
        return "_deferred" not in self.__dict__
