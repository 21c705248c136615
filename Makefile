# qopt: two commands set up everything on a fresh machine.
#   make run   - venv, build + install (C++ core included), start the gRPC service,
#                solve Gset G1 through it with the Python client, stop the service.
#   make test  - venv, build + install, then the quick test suite.
# Developer loop: `make dev` builds the extension in place (python/qopt/_core*.so)
# for PYTHON=... with PYTHONPATH=python.

PYTHON ?= python3
VENV   ?= .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.qopt-installed
SOURCES := $(shell find cpp python protos -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.py' -o -name '*.proto' -o -name '*.txt' \) 2>/dev/null) pyproject.toml CMakeLists.txt

.PHONY: all venv install run test test-all test-cpp lint dev bench protos clean browser

all: install

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --upgrade pip

venv: $(VPY)

$(STAMP): $(VPY) $(SOURCES)
	$(VPY) -m pip install ".[test,bench,ray,ibm]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VPY) -m qopt.demo

test: install
	$(VPY) -m pytest -q -m "not slow"

# ruff (pyflakes, bugbear, import order) on the whole tree; mypy on python/qopt (settings in pyproject.toml)
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test-all: install
	$(VPY) -m pytest -q

# C++ habits for CI: the core, the bindings (_core) and the kernels' unit tests (tests/cpp)
# built with -Wall -Wextra ... -Werror in build/cpp-tests, then CTest. Needs a C++17 compiler
# and CMake, as `make install` does; pybind11 comes from $(PYTHON), else from the venv
# (installed there if missing). The _core built here stays in build/cpp-tests/python.
CPP_TEST_DIR ?= build/cpp-tests
CPP_JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

test-cpp:
	@py=; for p in $(PYTHON) $(VPY); do \
	  if $$p -c 'import pybind11' >/dev/null 2>&1; then py=$$p; break; fi; \
	done; \
	if [ -z "$$py" ]; then \
	  $(MAKE) venv && $(VPY) -m pip install "pybind11>=2.13" && py=$(VPY); \
	fi; \
	set -ex; \
	cmake -S . -B $(CPP_TEST_DIR) -DCMAKE_BUILD_TYPE=Release -DQOPT_BUILD_TESTS=ON -DQOPT_WERROR=ON \
	  -DQOPT_EXTENSION_DIR="$(CURDIR)/$(CPP_TEST_DIR)/python" \
	  -DPython_EXECUTABLE="$$($$py -c 'import sys; print(sys.executable)')" \
	  -Dpybind11_DIR="$$($$py -c 'import pybind11; print(pybind11.get_cmake_dir())')"; \
	cmake --build $(CPP_TEST_DIR) -j $(CPP_JOBS); \
	cd $(CPP_TEST_DIR) && ctest --output-on-failure

dev:
	cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DPython_EXECUTABLE=$$(command -v $(PYTHON)) \
	  -Dpybind11_DIR=$$($(PYTHON) -c 'import pybind11; print(pybind11.get_cmake_dir())')
	cmake --build build/dev

protos:
	$(PYTHON) scripts/gen_protos.py

# Every benchmark in its quick mode, on the installed qopt (side by side with its anchor; figures in
# benchmarks/*.md). Each writes its CSV and PNG under benchmarks/results/ (gitignored); the plots the
# .md files show are copies in benchmarks/plots/. Instances: $(QOPT_SHARED_DATA) or ../shared/data
# when present, else the few shipped with qopt.
bench: install
	$(VPY) benchmarks/bench_sa.py --quick
	$(VPY) benchmarks/bench_bound.py --quick
	$(VPY) benchmarks/bench_qaoa.py --quick
	$(VPY) benchmarks/bench_cqm.py --quick
	$(VPY) benchmarks/bench_hybrid.py --quick
	$(VPY) benchmarks/bench_service.py
	$(VPY) benchmarks/bench_portfolio.py --quick
	$(VPY) benchmarks/bench_qaoa_variants.py --quick
	$(VPY) benchmarks/bench_frontier.py --quick

# Headless Chromium and its WebDriver for the dashboard's browser tests (tests/service/test_dashboard.py),
# from Debian's packages; nothing is done when both are already installed. Needs root (or sudo).
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
	  echo "chromium and chromedriver are installed"; \
	else \
	  sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  set -ex; $$sudo apt-get update; $$sudo apt-get install -y chromium chromium-driver; \
	fi

clean:
	rm -rf build $(VENV) python/qopt/_core*.so
