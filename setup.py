"""Build the compiled client: the protected modules as one extension, the public ones as their own.

Protected modules (key derivation, the split, the CDN, the hardware fingerprint, credentials)
are ``include``d into a single extension module, ``azaion._protected`` (as msgpack and uvloop
do): with no module cimporting another there is no ``__pyx_capi__`` table and no function
pointer shared between modules. ``azaion/__init__.py`` imports it first; it registers
``azaion.security``, ``azaion.api_client`` ... as modules holding their own classes, so every
import path stays. They compile without docstrings and embedded signatures; the public modules
keep theirs. Adding a protected module is one line: its name in ``PROTECTED`` (in dependency
order: a module's ``.pxd`` may only name classes of modules before it).

The deployment's wrapping key comes from the file named by ``AZAION_WRAPPING_KEY_FILE`` (64 hex
digits; ``AZAION_PREVIOUS_WRAPPING_KEY_FILE`` optionally names the key before it, still
accepted for reading). Without it the build uses the published test key, and says so in
``azaion.build_info()``; with ``AZAION_RELEASE=1`` (``make wheel``, cibuildwheel) a build
without a deployment key fails. The keys and the format's constants reach the binary only as
random shares in a generated C header (build/azaion-generated/, never committed or shipped in
an sdist), recombined in a stack buffer when a header is opened (docs/packaging.md).

Every build but ``--debug`` (``make debug``) is stripped: no symbol table, no debug information,
no path of the build machine, no RPATH.
"""

import hashlib
import os
import re
import secrets
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

PROTECTED = ["security", "credentials", "hardware_service", "device", "cdn_manager", "cache", "lease", "api_client"]
PUBLIC = ["constants", "user"]

ROOT = Path(__file__).resolve().parent
GENERATED = Path("build") / "azaion-generated"

# Published in docs/formats.md and tests/vectors: the key of every build without a deployment
# key, so that tests and vectors can be made by anyone. Never the key of a deployment.
TEST_WRAPPING_KEY = "5f1c3a7be08d4e2f96a1c0b7d35e8f42a9b6c1d0e7f3a5b8c2d4e6f8091a3b5c"
KEY_ID_LABEL = b"azaion wrapping key id v1"
# SHA-256 of keys that are public and never a deployment's: the one compiled into the source
# before key ids (in this repository's history).
PUBLISHED_KEY_DIGESTS = {"ddcecf1742a8a8641a08d1e9c8eb7d28a97aa183b890428321357eb140766854"}


class BuildError(SystemExit):
    pass


def key_id_of(key: bytes) -> int:
    """The header's key id of a wrapping key (docs/formats.md): 1..255, derived from the key."""
    return 1 + hashlib.sha256(KEY_ID_LABEL + key).digest()[0] % 255


def read_key_file(variable: str):
    name = os.environ.get(variable, "").strip()
    if not name:
        return None
    try:
        text = Path(name).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise BuildError(f"{variable}={name}: cannot read the key file ({e})") from None
    if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
        raise BuildError(f"{variable}={name}: the file must hold exactly 64 hex digits (a 32-byte key)")
    key = bytes.fromhex(text)
    if key == bytes.fromhex(TEST_WRAPPING_KEY):
        raise BuildError(f"{variable}={name}: this is the published test key, not a deployment key")
    if hashlib.sha256(key).hexdigest() in PUBLISHED_KEY_DIGESTS:
        raise BuildError(
            f"{variable}={name}: this key is published (in the repository's history); make a new one"
        )
    return key


def wrapping_keys():
    """(kind, [keys, current first]) for this build; refuses a release without a deployment key."""
    current = read_key_file("AZAION_WRAPPING_KEY_FILE")
    previous = read_key_file("AZAION_PREVIOUS_WRAPPING_KEY_FILE")
    release = os.environ.get("AZAION_RELEASE", "") not in ("", "0")
    if current is None:
        if release:
            raise BuildError(
                "AZAION_RELEASE is set but AZAION_WRAPPING_KEY_FILE is not: a release is never built "
                "with the published test key (docs/packaging.md says how to make a deployment key)"
            )
        if previous is not None:
            raise BuildError("AZAION_PREVIOUS_WRAPPING_KEY_FILE is set without AZAION_WRAPPING_KEY_FILE")
        return "test", [bytes.fromhex(TEST_WRAPPING_KEY)]
    keys = [current] + ([previous] if previous is not None else [])
    if len(keys) == 2 and (keys[0] == keys[1] or key_id_of(keys[0]) == key_id_of(keys[1])):
        raise BuildError("the current and the previous wrapping key have the same key id: make a new key")
    return "deployment", keys


def c_array(ctype: str, name: str, values, volatile: bool = False) -> str:
    qualifier = "static const volatile" if volatile else "static const"
    body = ",".join(str(v) for v in values)
    return f"{qualifier} {ctype} {name}[{len(values)}] = {{{body}}};\n"


def shares_header(keys, constants) -> str:
    """C source holding the keys and constants as XOR shares scattered over a random pool.

    Byte i of secret s is pool[a[s][i]] ^ pool[b[s][i]] ^ pool[c[s][i]]: c's positions are used
    by no other byte, a's and b's are random, so no run of the pool is the secret, the secret
    XOR-ed with a constant, or a share of it. The pool is volatile: the compiler cannot fold the
    combination back into one constant.
    """
    secrets_ = list(keys) + list(constants)
    total = sum(len(s) for s in secrets_)
    size = 3 * total + 64
    pool = bytearray(secrets.token_bytes(size))
    positions = list(range(size))
    rng = secrets.SystemRandom()
    rng.shuffle(positions)
    own = positions[:total]  # the c positions, one per secret byte
    free = positions[total:]
    index_a, index_b, index_c, offsets = [], [], [], []
    at = 0
    for secret in secrets_:
        offsets.append(at)
        for byte in secret:
            a, b, c = rng.choice(free), rng.choice(free), own[at]
            pool[c] = byte ^ pool[a] ^ pool[b]
            index_a.append(a)
            index_b.append(b)
            index_c.append(c)
            at += 1
    out = ["/* Generated by setup.py for one build; never commit or ship. */\n"]
    out.append(c_array("unsigned char", "azaion_pool", list(pool), volatile=True))
    for name, values in (("azaion_ia", index_a), ("azaion_ib", index_b), ("azaion_ic", index_c)):
        out.append(c_array("unsigned short", name, values))
    out.append(c_array("unsigned short", "azaion_offsets", offsets))
    out.append(c_array("unsigned short", "azaion_lengths", [len(s) for s in secrets_]))
    out.append(c_array("unsigned char", "azaion_key_ids", [key_id_of(k) for k in keys]))
    out.append(f"#define AZAION_KEY_SLOTS {len(keys)}\n#define AZAION_CONSTANTS {len(constants)}\n")
    out.append(
        """
/* Overwrites n bytes in a way the compiler may not drop as a dead store. */
static void azaion_wipe(void *p, size_t n) {
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--)
        *v++ = 0;
#if defined(__GNUC__) || defined(__clang__)
    __asm__ __volatile__("" : : "r"(p) : "memory");
#endif
}

static void azaion_secret_into(int which, unsigned char *out) {
    unsigned short at = azaion_offsets[which], n = azaion_lengths[which], i;
    for (i = 0; i < n; i++)
        out[i] = (unsigned char)(azaion_pool[azaion_ia[at + i]] ^ azaion_pool[azaion_ib[at + i]]
                                 ^ azaion_pool[azaion_ic[at + i]]);
}

/* The slot of the wrapping key with this key id, or -1. */
static int azaion_key_slot(int key_id) {
    int i;
    for (i = 0; i < AZAION_KEY_SLOTS; i++)
        if (azaion_key_ids[i] == key_id)
            return i;
    return -1;
}

static void azaion_wrapping_key_into(int slot, unsigned char *out) { azaion_secret_into(slot, out); }
static int azaion_current_key_id(void) { return azaion_key_ids[0]; }
static int azaion_constant_len(int which) { return azaion_lengths[AZAION_KEY_SLOTS + which]; }
static void azaion_constant_into(int which, unsigned char *out) {
    azaion_secret_into(AZAION_KEY_SLOTS + which, out);
}
"""
    )
    return "".join(out)


def is_test_build() -> bool:
    """Builds for tests (``make compile``) honour AZAION_HARDWARE_FINGERPRINT; a release
    (AZAION_RELEASE=1) never does, and AZAION_TEST_BUILD=0 turns it off for any build."""
    release = os.environ.get("AZAION_RELEASE", "") not in ("", "0")
    return not release and os.environ.get("AZAION_TEST_BUILD", "1") not in ("", "0")


def build_info_header(kind: str, keys, stripped: bool) -> str:
    previous = key_id_of(keys[1]) if len(keys) > 1 else -1
    return (
        "/* Generated by setup.py: what azaion.build_info() reports. */\n"
        f'#define AZAION_WRAPPING_KEY_KIND "{kind}"\n'
        f"#define AZAION_KEY_ID {key_id_of(keys[0])}\n"
        f"#define AZAION_PREVIOUS_KEY_ID {previous}\n"
        f"#define AZAION_STRIPPED {int(stripped)}\n"
        f"#define AZAION_TEST_BUILD {int(is_test_build())}\n"
    )


# -- the single protected module --------------------------------------------------------------

MASKED = re.compile(r'masked\(b"((?:[^"\\]|\\.)*)"\)')
PUBLIC_NAME = re.compile(r"^(?:cdef\s+class|class|def)\s+([A-Za-z]\w*)", re.MULTILINE)


def without_protected_cimports(text: str) -> str:
    """The source with every ``from azaion.<protected> cimport ...`` blanked, lines kept."""
    lines = text.split("\n")
    pattern = re.compile(r"^from azaion\.(" + "|".join(PROTECTED) + r") cimport\b")
    i = 0
    while i < len(lines):
        if pattern.match(lines[i]):
            open_paren = "(" in lines[i] and ")" not in lines[i]
            lines[i] = ""
            while open_paren:
                i += 1
                open_paren = ")" not in lines[i]
                lines[i] = ""
        i += 1
    return "\n".join(lines)


def without_function_declarations(text: str) -> str:
    """A .pxd without its module-level cdef functions: declared in the .pxd they would be exported
    through ``__pyx_capi__``; defined in the .pyx alone they are not."""
    lines = text.split("\n")
    start = re.compile(r"^cdef\s+(?!class\b|enum\b|struct\b|extern\b|union\b|packed\b)[\w.\[\], ]+\(")
    i = 0
    while i < len(lines):
        if start.match(lines[i]):
            depth = lines[i].count("(") - lines[i].count(")")
            lines[i] = ""
            while depth > 0:
                i += 1
                depth += lines[i].count("(") - lines[i].count(")")
                lines[i] = ""
        i += 1
    return "\n".join(lines)


TOP_LEVEL = re.compile(
    r"^(?:cdef\s+class\s+|class\s+|c?p?def\s+(?:inline\s+)?(?:[\w.\[\]]+\s+)*?)?([A-Za-z_]\w*)\s*[(=:]",
    re.MULTILINE,
)


def top_level_names(source: str) -> set:
    """Names a .pyx defines at module level: in the one extension they share a namespace."""
    return {n for n in TOP_LEVEL.findall(source) if n not in ("if", "try", "with", "for", "while", "else")}


def generate_protected(out: Path, constants: list) -> Path:
    """Write build/azaion-generated/azaion/_protected.{pyx,pxd} and the copies they include."""
    package = out / "azaion"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    pyx = [
        "# cython: language_level=3\n# Generated by setup.py: every protected module in one extension.\n",
    ]
    pxd = ["# cython: language_level=3\n# Generated by setup.py.\n"]
    register = [
        "\n# Each protected module as a namespace of its own names, under its own import path.\n",
        'cdef extern from *:\n    """\n'
        "    /* The class's import path, and no __pyx_vtable__ capsule: its cdef methods' addresses\n"
        "       stay inside this module (no other module cimports it). */\n"
        "    static int azaion_set_type_name(PyObject *type, const char *name) {\n"
        "        PyTypeObject *t = (PyTypeObject *)type;\n"
        "        t->tp_name = name;\n"
        '        if (t->tp_dict && PyDict_GetItemString(t->tp_dict, "__pyx_vtable__") &&\n'
        '            PyDict_DelItemString(t->tp_dict, "__pyx_vtable__") < 0)\n'
        "            return -1;\n"
        "        PyType_Modified(t);\n"
        "        return 0;\n"
        '    }\n    """\n'
        "    int azaion_set_type_name(object type, const char *name) except -1\n",
        "import sys as _azaion_sys\nfrom types import ModuleType as _AzaionModule\n",
        '_azaion_package = _azaion_sys.modules["azaion"]\n',
    ]
    owners = {}
    for module in PROTECTED:
        source = (ROOT / "azaion" / f"{module}.pyx").read_text(encoding="utf-8")
        for name in top_level_names(source):
            if owners.setdefault(name, module) != module:
                raise BuildError(
                    f"azaion/{module}.pyx and azaion/{owners[name]}.pyx both define {name!r} at module "
                    "level: "
                    "the protected modules share one namespace (setup.py); rename one"
                )
        declarations = (ROOT / "azaion" / f"{module}.pxd").read_text(encoding="utf-8")

        def unmask(match):
            constants.append(match.group(1).encode("latin-1").decode("unicode_escape").encode("latin-1"))
            return f"unmask({len(constants) - 1})"

        source = MASKED.sub(unmask, without_protected_cimports(source))
        (package / f"{module}.pyx").write_text(source, encoding="utf-8")
        (package / f"{module}.pxi").write_text(
            without_function_declarations(without_protected_cimports(declarations)), encoding="utf-8"
        )
        pyx.append(f'include "{module}.pyx"\n')
        pxd.append(f'include "{module}.pxi"\n')
        register.append(f'_m = _AzaionModule("azaion.{module}")\n_m.__file__ = __file__\n')
        for name in dict.fromkeys(PUBLIC_NAME.findall(source)):
            if re.search(rf"^cdef\s+class\s+{name}\b", source, re.MULTILINE):
                register.append(f'azaion_set_type_name({name}, b"azaion.{module}.{name}")\n')
            else:
                register.append(f'{name}.__module__ = "azaion.{module}"\n')
            register.append(f"_m.{name} = {name}\n")
        register.append(
            f'_azaion_sys.modules["azaion.{module}"] = _m\nsetattr(_azaion_package, "{module}", _m)\n'
        )
    register.append("del _m, _azaion_package, _AzaionModule, _azaion_sys\n")
    (package / "_protected.pxd").write_text("".join(pxd), encoding="utf-8")
    path = package / "_protected.pyx"
    path.write_text("".join(pyx + register), encoding="utf-8")
    return path


def secrets_in(header: Path):
    """The secrets an existing azaion_secrets.h recombines to, or None: the shares are kept while
    the keys and constants stay, so that make compile does not rebuild the module every time."""
    try:
        return secrets_in_text(header.read_text(encoding="utf-8"))
    except OSError:
        return None


def secrets_in_text(text: str):
    arrays = {}
    for name, body in re.findall(r"(azaion_\w+)\[\d+\] = \{([^}]*)\}", text):
        arrays[name] = [int(v) for v in body.split(",")]
    try:
        pool, ia, ib, ic = (arrays[k] for k in ("azaion_pool", "azaion_ia", "azaion_ib", "azaion_ic"))
        found = []
        for offset, length in zip(arrays["azaion_offsets"], arrays["azaion_lengths"]):
            found.append(
                bytes(pool[ia[j]] ^ pool[ib[j]] ^ pool[ic[j]] for j in range(offset, offset + length))
            )
        return found
    except (KeyError, IndexError):
        return None


def write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def cythonized_extensions(stripped=True, annotate=False, linetrace=False, always=False):
    """The generated headers and the Cython output of this build: the cythonized Extensions.

    Run in the project's root (the sources are named relative to it). ``build_ext`` compiles
    what it returns; build_tools/aarch64.py cross-compiles the same C files for aarch64.
    """
    from Cython.Build import cythonize
    from Cython.Compiler import Options

    kind, keys = wrapping_keys()
    generated = ROOT / GENERATED
    generated.mkdir(parents=True, exist_ok=True)
    constants = []
    main = generate_protected(generated, constants)
    header = generated / "azaion_secrets.h"
    if secrets_in(header) != list(keys) + constants:
        header.write_text(shares_header(keys, constants), encoding="utf-8")
    write_if_changed(generated / "azaion_build_info.h", build_info_header(kind, keys, stripped))

    # auto_pickle off: no generated __pyx_unpickle_* entry points into protected classes.
    directives = {
        "language_level": 3,
        "boundscheck": False,
        "wraparound": False,
        "cdivision": True,
        "auto_pickle": False,
    }
    macros = []
    if linetrace:
        directives["linetrace"] = True
        macros = [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")]
    include_dirs = [str(generated)]

    compiled = []
    Options.docstrings = False
    compiled += cythonize(
        [
            Extension(
                "azaion._protected",
                [str(main.relative_to(ROOT))],
                define_macros=macros,
                include_dirs=include_dirs,
                depends=[str(header)],
            )
        ],
        compiler_directives={**directives, "embedsignature": False},
        include_path=[str(generated), str(ROOT)],
        annotate=annotate,
        force=True,
        quiet=True,
    )
    Options.docstrings = True
    compiled += cythonize(
        [
            Extension(
                f"azaion.{name}",
                [f"azaion/{name}.pyx"],
                define_macros=macros,
                include_dirs=include_dirs,
                depends=[str(generated / "azaion_build_info.h")],
            )
            for name in PUBLIC
        ],
        compiler_directives={**directives, "embedsignature": True},
        annotate=annotate,
        force=always,
        quiet=True,
    )
    return compiled


class BuildExt(build_ext):
    user_options = build_ext.user_options + [
        ("cython-always", None, "run Cython even when the .c file is newer"),
        ("cython-annotate", None, "write the annotated HTML beside each .pyx"),
        ("cython-linetrace", None, "build with line tracing (profiling, coverage)"),
    ]
    boolean_options = build_ext.boolean_options + ["cython-always", "cython-annotate", "cython-linetrace"]

    def initialize_options(self):
        super().initialize_options()
        self.cython_always = False
        self.cython_annotate = False
        self.cython_linetrace = False

    def finalize_options(self):
        self.distribution.ext_modules[:] = cythonized_extensions(
            stripped=not self.debug,
            annotate=self.cython_annotate,
            linetrace=self.cython_linetrace,
            always=self.cython_always,
        )
        self.azaion_stripped = not self.debug
        super().finalize_options()

    def build_extensions(self):
        compiler = self.compiler
        if compiler.compiler_type == "unix":
            # pyenv's interpreters link with -Wl,-rpath,<prefix>/lib: a RUNPATH naming this machine.
            for attr in ("linker_so", "linker_so_cxx"):
                command = getattr(compiler, attr, None)
                if command:
                    setattr(compiler, attr, [a for a in command if not re.match(r"-Wl,-(rpath|R)", a)])
            # Nothing exported but PyInit_* (PyMODINIT_FUNC keeps its default visibility): not
            # Cython's __pyx_module_is_main_* flag either.
            for ext in self.extensions:
                ext.extra_compile_args = list(ext.extra_compile_args or []) + ["-fvisibility=hidden"]
            if self.azaion_stripped:
                prefix_maps = [f"-ffile-prefix-map={ROOT}=.", f"-ffile-prefix-map={Path.cwd()}=."]
                compile_args = ["-g0", *prefix_maps]
                link_args = ["-Wl,-x", "-Wl,-S"] if sys.platform == "darwin" else ["-s", "-g0"]
                for ext in self.extensions:
                    ext.extra_compile_args = list(ext.extra_compile_args or []) + compile_args
                    ext.extra_link_args = list(ext.extra_link_args or []) + link_args
        super().build_extensions()


# Guarded so that tests can import the generators (setuptools runs this file as __main__).
if __name__ == "__main__":
    # Placeholders: BuildExt.finalize_options replaces them with the cythonized extensions.
    setup(
        ext_modules=[Extension("azaion._protected", ["azaion/security.pyx"])]
        + [Extension(f"azaion.{name}", [f"azaion/{name}.pyx"]) for name in PUBLIC],
        cmdclass={"build_ext": BuildExt},
    )
