# kneeback developer commands. `make demo` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_CLIP ?= ../shared/data/videos/front-squat-3reps.mp4
DEMO_OUT ?= demo-output

.PHONY: venv demo test test-fast bench lint format clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: venv
	$(BIN)/kneeback models install
	$(BIN)/kneeback analyze $(DEMO_CLIP) -o $(DEMO_OUT)
	@echo "Demo output: $(abspath $(DEMO_OUT))"

test: venv
	bash scripts/system-deps.sh
	$(BIN)/python -m pytest

test-fast: venv
	$(BIN)/python -m pytest -m "not slow"

bench: venv
	$(BIN)/python bench/run.py
	$(BIN)/python bench/batch.py
	$(BIN)/python bench/encode.py

lint: venv
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
