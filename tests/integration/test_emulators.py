"""Starting the emulators: a port taken between choosing and binding costs a retry, no hang."""

import socket

import pytest

from devtools import emulators


def test_a_port_taken_before_the_emulator_binds_it_is_retried_or_named(monkeypatch):
    with socket.socket() as holder:
        # Bound, not listening: as the client socket of another process holds a port.
        holder.bind(("127.0.0.1", 0))
        taken = holder.getsockname()[1]

        # The port chosen for the Cosmos DB server is taken before the server binds it.
        blob, queue, table = emulators.free_ports(3)
        chosen = iter([[blob, queue, taken, table]])
        real_free_ports = emulators.free_ports
        monkeypatch.setattr(
            emulators, "free_ports", lambda count: next(chosen, None) or real_free_ports(count)
        )
        running = emulators.start()
        try:
            assert taken not in (running.blob_port, running.queue_port, running.cosmos_port)
            for port in (running.blob_port, running.queue_port, running.cosmos_port):
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
        finally:
            running.stop()

        # A port the caller chose is not replaced: the error names it and the reason.
        with pytest.raises(emulators.EmulatorStartError) as refused:
            emulators.start(cosmos_port=taken)
        assert str(taken) in str(refused.value)
        assert "EADDRINUSE" in str(refused.value)


def test_free_ports_are_distinct():
    for _ in range(200):
        ports = emulators.free_ports(4)
        assert len(set(ports)) == 4
