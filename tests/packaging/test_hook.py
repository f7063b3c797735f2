"""The PyInstaller hook: found through the entry point, and complete for what azaion/*.pyx imports."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import azaion.__pyinstaller as hooks

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "azaion" / "__pyinstaller" / "hook-azaion.py"
# Imported by name at run time only where present (Windows), added by the hook on Windows.
PLATFORM_ONLY = {"winreg", "msvcrt"}
# In every frozen app: PyInstaller's bootloader needs them.
ALWAYS_BUNDLED = {"os", "sys"}


def listed_hidden_imports() -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(HOOK.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.AugAssign, ast.Assign)) and isinstance(node.value, ast.List):
            names |= {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    return names


def imports_of_compiled_modules() -> set[str]:
    pattern = re.compile(r"^\s*(?:import ([\w.]+)|from ([\w.]+) import)", re.MULTILINE)
    found = set()
    for source in (ROOT / "azaion").glob("*.pyx"):
        for plain, origin in pattern.findall(source.read_text(encoding="utf-8")):
            found.add(plain or origin)
    return {m for m in found if m.split(".")[0] not in ("azaion", "__future__", "cython", "libc", "cpython")}


def test_hook_dir_holds_the_hook():
    [directory] = hooks.get_hook_dirs()
    assert Path(directory, "hook-azaion.py").resolve() == HOOK


def test_entry_point_names_the_hook_dirs():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(
        r'\[project\.entry-points\.pyinstaller40\]\s*\nhook-dirs = "azaion\.__pyinstaller:get_hook_dirs"',
        text,
    )
    assert re.search(r'packages = \[[^\]]*"azaion\.__pyinstaller"', text)


def test_hook_lists_every_import_of_the_compiled_modules():
    missing = imports_of_compiled_modules() - listed_hidden_imports() - PLATFORM_ONLY - ALWAYS_BUNDLED
    assert not missing, f"add to hiddenimports in {HOOK.relative_to(ROOT)}: {sorted(missing)}"


def test_hook_imports_exist_here():
    import importlib

    absent = []
    for name in sorted(listed_hidden_imports()):
        try:
            importlib.import_module(name)
        except ImportError:
            absent.append(name)
    assert not absent, f"hiddenimports that do not exist: {absent}"
