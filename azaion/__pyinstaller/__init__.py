"""PyInstaller support: freezing an application that imports azaion needs no hidden imports.

PyInstaller finds this package through the ``pyinstaller40`` entry point in pyproject.toml and
reads ``hook-azaion.py`` from the directory that ``get_hook_dirs`` returns.
"""

import os


def get_hook_dirs() -> list:
    return [os.path.dirname(__file__)]
