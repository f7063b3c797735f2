"""`python -m azaion_server`: the same as the `azaion-server` command."""

from azaion_server.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
