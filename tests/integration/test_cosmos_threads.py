"""The process-wide Cosmos client keeps each thread's last response headers apart (found by
make loadtest: a 500 "OrderedDict mutated during iteration" on a viewer's poll list).

azure-cosmos keeps the headers of the last response on the client that every thread shares;
a query iterates the dict it just stored there while another thread's retry wrapper writes
throttle counts into whatever dict is stored there now."""

import threading
from typing import Any

from shared.clients import cosmos_client


def test_another_threads_request_never_writes_into_this_threads_headers(stack):
    connection = cosmos_client().client_connection
    mine: Any = {"x-ms-request-charge": "1"}
    connection.last_response_headers = mine

    def other_thread() -> None:
        # What azure.cosmos._retry_utility.Execute does after every request of that thread.
        connection.last_response_headers["x-ms-throttle-retry-count"] = 0

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert mine == {"x-ms-request-charge": "1"}
    assert connection.last_response_headers is mine
