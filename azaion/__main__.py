"""``python -m azaion``: the azaion command."""

import sys

from azaion.cli import main

sys.exit(main())
