"""schemathesis against the server's own OpenAPI, authenticated: no 5xx, no answer off its schema.

Runs the `schemathesis` command (a subprocess: its own event loop and Hypothesis settings) as an
ApiAdmin, so every route is reachable. Routes that would end the run's own session are left out:
`/logout` (revokes the token) and deleting users (could delete the admin). `/events` streams
forever and is tested in test_events.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = int(os.environ.get("AZAION_SCHEMATHESIS_EXAMPLES", "150"))


@pytest.mark.slow
# The run itself is bounded by the subprocess's timeout below, not by the suite's 300 s default:
# with every route of the second wave it takes minutes on a loaded 2-core machine.
@pytest.mark.timeout(1500)
def test_openapi_fuzzing_finds_no_server_error_and_no_schema_violation(live, tmp_path):
    token = live.login(live.admin_email, live.admin_password)
    schemathesis = Path(sys.executable).with_name("schemathesis")
    command = [
        str(schemathesis),
        "run",
        f"{live.url}/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance,ensure_resource_availability,use_after_free,ignored_auth",
        "--max-examples",
        str(EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "20261125",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--exclude-path",
        "/logout",
        "--exclude-path-regex",
        "^/events",
        "--exclude-method",
        "DELETE",
        "--generation-allow-x00",
        "true",
        "-H",
        f"Authorization: Bearer {token}",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
