"""Compiles the ingest's hot loop with Cython when it is available at build
time (pyproject.toml asks for it); the same modules run as plain Python
otherwise, or with EMAILLOG_PURE=1 (use it for editable installs, so the
sources you edit are the code that runs)."""

import os

from setuptools import setup

# The modules a big ingest spends its time in: parsing Postfix, correlating
# and classifying replies, packing rows (benchmarks/bench_ingest.py measures them).
COMPILED = [
    "emaillog.formats.postfix",
    "emaillog.formats.postfix_lines",
    "emaillog.correlate",
    "emaillog.classify",
    "emaillog.ingest.parse",
    "emaillog.store.codec",
    "emaillog.store.writer",
]


def extensions():
    if os.environ.get("EMAILLOG_PURE") == "1":
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        return []
    from setuptools import Extension
    modules = [Extension(name, [name.replace(".", "/") + ".py"]) for name in COMPILED]
    return cythonize(modules, language_level=3, quiet=True,
                     compiler_directives={"binding": True, "annotation_typing": False})


setup(ext_modules=extensions())
