"""Build the compiled client: one extension per module of azaion/.

Protected modules (key derivation, the split, the CDN and the hardware fingerprint) compile
without docstrings and without embedded signatures, so the shipped binary says as little about
them as possible; the public modules keep theirs.
"""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

PROTECTED = ["security", "api_client", "cdn_manager", "hardware_service", "credentials"]
PUBLIC = ["constants", "user"]


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
        from Cython.Build import cythonize
        from Cython.Compiler import Options

        # auto_pickle off: no generated __pyx_unpickle_* entry points into protected classes.
        directives = {"language_level": 3, "boundscheck": False, "wraparound": False, "cdivision": True,
                      "auto_pickle": False}
        macros = []
        if self.cython_linetrace:
            directives["linetrace"] = True
            macros = [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")]

        def extensions(names):
            return [
                Extension(f"azaion.{name}", [f"azaion/{name}.pyx"], define_macros=macros) for name in names
            ]

        compiled = []
        for names, public in ((PROTECTED, False), (PUBLIC, True)):
            Options.docstrings = public
            compiled += cythonize(
                extensions(names),
                compiler_directives={**directives, "embedsignature": public},
                annotate=self.cython_annotate,
                force=self.cython_always,
                quiet=True,
            )
        self.distribution.ext_modules[:] = compiled
        super().finalize_options()


# Placeholders: BuildExt.finalize_options replaces them with the cythonized extensions.
setup(
    ext_modules=[Extension(f"azaion.{name}", [f"azaion/{name}.pyx"]) for name in PROTECTED + PUBLIC],
    cmdclass={"build_ext": BuildExt},
)
