import pytest

from qopt.client import Client
from qopt.service.server import Server


@pytest.fixture(scope="module")
def server():
    """A real gRPC server on localhost:0 for the module's tests."""
    srv = Server("127.0.0.1:0", max_workers=4).start()
    yield srv
    srv.stop(grace=1.0)


@pytest.fixture()
def client(server):
    with Client(server.address) as c:
        yield c
