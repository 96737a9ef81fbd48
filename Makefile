# Two entry points for a new user: `make demo` and `make test`. Both create the virtual
# environment on first use. Everything else is documented in docs/.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The CPU build of torch 2.13.0: from a local wheel directory where pip is configured with one
# (this project's reference machines), otherwise from PyTorch's CPU index. Never a CUDA build.
TORCH_ARGS ?= $(shell ls /opt/wheels/torch-2.13.0+cpu-*.whl >/dev/null 2>&1 \
                || echo "--index-url https://download.pytorch.org/whl/cpu")

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0 $(TORCH_ARGS)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/insight demo

test: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

clean:
	rm -rf .insight .pytest_cache .ruff_cache
