"""The .pyi stubs of the compiled modules say what the built modules have, and nothing else.

The protected modules ship without docstrings or signatures (setup.py), so the stubs are the
typed, documented API. They must not drift: every public name of every compiled module has a
stub, every stub names something the module has, and each function's and method's parameters
(names, kinds, defaults) equal the runtime's (``inspect.signature`` of the built module), or,
for ``__init__`` (a slot wrapper that shows no signature), the ``.pyx`` source's. Then mypy's
stubtest compares them with the built modules (tests/packaging/stubtest-allowlist.txt says what
Cython differs in), and mypy --strict checks an example loader against them
(tests/packaging/example_loader.py).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import azaion

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "build_tools"))
from check_wheel import extension_lists  # noqa: E402

PROTECTED, PUBLIC = extension_lists()
COMPILED = PROTECTED + PUBLIC


def stub_of(module: str) -> ast.Module:
    path = ROOT / "azaion" / f"{module}.pyi"
    assert path.exists(), f"azaion/{module}.pyi is missing: the compiled module needs a stub"
    return ast.parse(path.read_text(encoding="utf-8"))


def stub_names(tree: ast.Module) -> dict[str, ast.AST]:
    names: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.asname and alias.asname == alias.name:  # an explicit re-export
                    names[alias.name] = node
    return names


def runtime_names(module) -> dict[str, object]:
    return {
        name: value
        for name, value in vars(module).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }


Parameter = tuple  # (name, kind, default or inspect.Parameter.empty)


def parameters_of_stub(node: ast.FunctionDef) -> list[Parameter]:
    a = node.args
    out: list[Parameter] = []
    positional = a.posonlyargs + a.args
    defaults = [inspect.Parameter.empty] * (len(positional) - len(a.defaults)) + [
        ast.literal_eval(d) for d in a.defaults
    ]
    for arg, default in zip(positional, defaults):
        kind = "positional-only" if arg in a.posonlyargs else "positional or keyword"
        out.append((arg.arg, kind, default))
    if a.vararg:
        out.append((a.vararg.arg, "variadic positional", inspect.Parameter.empty))
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        out.append(
            (
                arg.arg,
                "keyword-only",
                inspect.Parameter.empty if default is None else ast.literal_eval(default),
            )
        )
    if a.kwarg:
        out.append((a.kwarg.arg, "variadic keyword", inspect.Parameter.empty))
    return out


def parameters_of_runtime(signature: inspect.Signature) -> list[Parameter]:
    return [(p.name, p.kind.description, p.default) for p in signature.parameters.values()]


def parameters_of_pyx_init(module: str, cls: str) -> list[Parameter] | None:
    """``def __init__(...)`` of ``cdef class cls`` in azaion/module.pyx, Cython types dropped."""
    source = (ROOT / "azaion" / f"{module}.pyx").read_text(encoding="utf-8")
    block = re.search(rf"^cdef class {cls}\b.*?(?=^cdef class |\Z)", source, re.S | re.M)
    if block is None:
        return None
    init = re.search(r"^    def __init__\((.*?)\):", block.group(), re.S | re.M)
    if init is None:
        return None
    params = []
    for part in re.split(r",\s*", " ".join(init.group(1).split())):
        part = re.sub(r"^(?:[\w.]+\s+)(?=\*{0,2}\w+(?:\s*=|$))", "", part.strip())
        params.append(part)
    tree = ast.parse(f"def __init__({', '.join(params)}): pass")
    return parameters_of_stub(tree.body[0])


@pytest.mark.parametrize("module", COMPILED)
def test_every_public_name_has_a_stub_and_every_stub_a_runtime_name(module):
    runtime = runtime_names(importlib.import_module(f"azaion.{module}"))
    stubbed = stub_names(stub_of(module))
    assert sorted(set(runtime) - set(stubbed)) == [], f"azaion/{module}.pyi lacks these names"
    # A stub may name helper types (a TypedDict, an alias) that exist only for type checkers.
    helpers = {
        n
        for n, node in stubbed.items()
        if isinstance(node, ast.ClassDef)
        and any(isinstance(b, ast.Name) and b.id == "TypedDict" for b in node.bases)
    }
    assert sorted(set(stubbed) - set(runtime) - helpers) == [], f"azaion/{module}.pyi names what is gone"


def stubbed_methods(node: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}


def is_property(node: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list)


@pytest.mark.parametrize("module", COMPILED)
def test_signatures_match_the_built_module(module):
    runtime_module = importlib.import_module(f"azaion.{module}")
    stubbed = stub_names(stub_of(module))
    checked = 0
    for name, value in runtime_names(runtime_module).items():
        node = stubbed[name]
        if inspect.isclass(value) and isinstance(node, ast.ClassDef):
            methods = stubbed_methods(node)
            for attr, member in vars(value).items():
                if attr.startswith("_") and attr not in ("__init__", "__enter__", "__exit__"):
                    continue
                if isinstance(value, type) and issubclass(value, int) and not callable(member):
                    continue  # enum members: checked as class attributes below
                assert attr in methods or attr in ast.unparse(node), f"{module}.{name}.{attr} has no stub"
                if attr not in methods:
                    continue
                if inspect.isdatadescriptor(member):
                    assert is_property(methods[attr]), f"{module}.{name}.{attr} is a property at run time"
                    continue
                if attr == "__init__":
                    expected = parameters_of_pyx_init(module, name)
                else:
                    try:
                        expected = parameters_of_runtime(inspect.signature(member))
                    except (TypeError, ValueError):
                        expected = None
                if expected is None:
                    continue
                assert parameters_of_stub(methods[attr]) == expected, f"{module}.{name}.{attr}"
                checked += 1
            if issubclass(value, int) and hasattr(value, "__members__"):
                stub_members = {
                    t.id: ast.literal_eval(n.value)
                    for n in node.body
                    if isinstance(n, ast.Assign)
                    for t in n.targets
                    if isinstance(t, ast.Name)
                }
                assert stub_members == {k: int(v) for k, v in value.__members__.items()}
                checked += 1
        elif callable(value) and isinstance(node, ast.FunctionDef):
            assert parameters_of_stub(node) == parameters_of_runtime(inspect.signature(value)), (
                f"{module}.{name}"
            )
            checked += 1
    if module not in ("security", "cache"):  # the two with no Python surface at all
        assert checked, f"nothing of azaion.{module} was compared"


def test_a_drifted_signature_is_caught():
    """The comparison itself: a stub with a renamed parameter does not equal the runtime."""
    tree = ast.parse("def load_big_small_resource(self, name: str, folder: str, progress=None) -> bytes: ...")
    runtime = parameters_of_runtime(inspect.signature(azaion.ApiClient.load_big_small_resource))
    assert parameters_of_stub(tree.body[0]) != runtime
    (good,) = [n for n in stub_of("api_client").body if isinstance(n, ast.ClassDef) and n.name == "ApiClient"]
    assert parameters_of_stub(stubbed_methods(good)["load_big_small_resource"]) == runtime


def test_the_package_ships_the_stubs_and_py_typed():
    assert (ROOT / "azaion" / "py.typed").exists()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^azaion = \["py.typed", "\*.pyi"\]', pyproject, re.M), "package-data"


def test_stubtest_finds_the_stubs_equal_to_the_built_modules():
    """mypy's stubtest against the compiled modules; the allowlist says what Cython differs in."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy.stubtest",
            "--allowlist",
            ROOT / "tests" / "packaging" / "stubtest-allowlist.txt",
            *(f"azaion.{m}" for m in COMPILED),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes_on_an_example_loader():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            ROOT / "tests" / "packaging" / "example_loader.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
