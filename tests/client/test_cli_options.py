"""The command line's global options work before the command and after it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from azaion.cli import build_parser
from tests.client.conftest import EMAIL, PASSWORD

ROOT = Path(__file__).resolve().parents[2]
GLOBALS = ["--api-url", "http://api.example", "--email", "e@example.com", "--client-name", "edge"]
FLAGS = ["--json", "--debug", "--password-stdin"]


def parsed(argv: list[str]) -> tuple:
    args = build_parser().parse_args(argv)
    return (args.api_url, args.email, args.client_name, args.json, args.debug, args.password_stdin)


EXPECTED = ("http://api.example", "e@example.com", "edge", True, True, True)


@pytest.mark.parametrize(
    "argv",
    [
        [*GLOBALS, *FLAGS, "whoami"],
        ["whoami", *GLOBALS, *FLAGS],
        [*GLOBALS, "whoami", *FLAGS],
        [*FLAGS, "whoami", *GLOBALS],
    ],
    ids=["before", "after", "split", "split-other-way"],
)
def test_global_options_in_any_position(argv):
    assert parsed(argv) == EXPECTED


def test_defaults_when_left_out_and_the_later_value_wins():
    assert parsed(["whoami"]) == (None, None, None, False, False, False)
    assert build_parser().parse_args(["--email", "a@x", "whoami", "--email", "b@x"]).email == "b@x"
    args = build_parser().parse_args(["--api-url", "http://a", "pull", "m.bin", "--folder", "f", "-o", "-"])
    assert (args.api_url, args.name, args.folder) == ("http://a", "m.bin", "f")


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
def test_whoami_with_options_before_or_after_the_command(api, api_url, tmp_path, before):
    options = ["--api-url", api_url, "--email", EMAIL, "--json"]
    argv = [*options, "whoami"] if before else ["whoami", *options]
    env = {k: v for k, v in os.environ.items() if k not in ("AZAION_API_URL", "AZAION_EMAIL")}
    env.update(AZAION_PASSWORD=PASSWORD, AZAION_CONFIG=str(tmp_path / "config.ini"))
    command = [sys.executable, "-m", "azaion", *argv]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["email"] == EMAIL
