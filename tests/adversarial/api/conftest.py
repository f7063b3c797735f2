"""The real server over HTTP, for attacks on the API itself (shares the end-to-end fixtures)."""

from tests.e2e.conftest import (  # noqa: F401
    client_env,
    connect,
    e2e_database_url,
    live,
    make_account,
    server_env,
)
