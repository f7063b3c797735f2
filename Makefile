# azaion: `make run` runs the main job on embedded defaults, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv compile debug run packages test test-client test-server test-aarch64 wheel bench lint format clean

$(STAMP): requirements-dev.txt server/pyproject.toml pyproject.toml
	# tpm2-pytss (requirements-dev.txt) builds against libtss2-dev: the Debian packages come first.
	build_tools/debian_packages.sh $(DEBIAN_PACKAGES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q -e 'server[test]'
	# The client, editable: the `azaion` command and the PyInstaller entry point in the venv;
	# imports resolve to azaion/ here, where `make compile` rebuilds the extension in place.
	$(PY) -m pip install -q --no-build-isolation --no-deps -e .
	touch $@

venv: $(STAMP)

# The client extension, built in place so tests import the compiled modules from azaion/.
compile: venv
	$(PY) setup.py -q build_ext --inplace

# Annotated HTML and line tracing, for profiling and coverage of the .pyx files.
debug: venv
	$(PY) setup.py -q build_ext --inplace --debug --cython-always --cython-annotate --cython-linetrace

run: compile
	$(PY) build_tools/run_demo.py $(RUN_ARGS)

# Debian packages the tests use, installed when missing (build_tools/debian_packages.sh).
# Chromium: the browser tests of /docs and /redoc (tests/server/docs).
DEBIAN_PACKAGES += chromium
# A software TPM 2.0 and its libraries: the TPM key store of the device keys (tests/e2e/test_tpm.py).
DEBIAN_PACKAGES += swtpm swtpm-tools tpm2-tools libtss2-dev
# QEMU user mode: make test-aarch64 runs Debian's arm64 CPython (downloaded by
# build_tools/aarch64_device.py into build/aarch64/, never installed) on this x86-64 machine.
DEBIAN_PACKAGES += qemu-user-static
# libfaketime: the offline loads of tests/e2e/test_offline.py under a clock moved ahead and back.
DEBIAN_PACKAGES += faketime
packages:
	build_tools/debian_packages.sh $(DEBIAN_PACKAGES)

# Every test: lint first (style and the server's import layers), then the whole tree against a
# throwaway PostgreSQL (the aarch64 device of make test-aarch64 included), then the server again
# on SQLite.
test: compile packages lint
	build_tools/with_postgres.sh $(PY) -m pytest tests
	env -u AZAION_TEST_DATABASE_URL $(PY) -m pytest tests/server -p no:cacheprovider

# Repaired manylinux wheels for every CPython 3.10-3.13 on this machine, an sdist, and their checks.
wheel: venv
	$(PY) build_tools/build_wheels.py

# Figures beside reference figures measured in the same run (docs/performance.md); not a test.
# Rows 5 and 7 (the server) run on a throwaway PostgreSQL and load it with Debian's wrk.
# Only the server's rows: make bench BENCH_ARGS="--rows 5,7" (about 4 minutes).
bench: compile
	build_tools/debian_packages.sh wrk
	build_tools/with_postgres.sh $(PY) -m benchmarks $(BENCH_ARGS)

# The aarch64 wheels on an emulated device (tests/packaging/test_aarch64.py): test builds
# cross-compiled with zig for Debian's arm64 CPython 3.11 and 3.13, run under
# qemu-user-static against this machine's server: smoke test, login, cold and warm load, ONNX
# inference; and make wheel's aarch64 release wheel. `make test` runs the same file (it shares
# the release build with tests/adversarial/binary there): this target is that file alone.
# Downloads (Debian's arm64 .debs, pip's aarch64 wheels) are kept under build/aarch64/.
test-aarch64: compile packages
	$(PY) -m pytest tests/packaging/test_aarch64.py -p no:cacheprovider --durations=10

test-client: compile
	$(PY) -m pytest tests/client

test-server: venv packages
	build_tools/with_postgres.sh $(PY) -m pytest tests/server

# ruff, then the server's layers (import-linter contracts in server/pyproject.toml).
lint: venv
	$(VENV)/bin/ruff check azaion server tests build_tools benchmarks
	$(VENV)/bin/ruff format --check azaion server tests build_tools benchmarks
	cd server && $(abspath $(VENV))/bin/lint-imports --no-cache

format: venv
	$(VENV)/bin/ruff format azaion server tests build_tools benchmarks

clean:
	rm -rf build dist wheelhouse .pytest_cache .hypothesis .coverage htmlcov
	rm -rf build/azaion-generated
	find azaion -name '*.so' -delete -o -name '*.c' -delete -o -name '*.html' -delete
