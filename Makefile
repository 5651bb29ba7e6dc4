# Two commands do all set-up on a fresh machine:
#   make demo   - build the environment, then run the instructor/TA pipeline on the bundled example submissions
#   make test   - build the environment, then run ruff and the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench release clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/labs demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

release: $(STAMP)
	$(BIN)/labs release

bench: $(STAMP)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf autograded/*/ feedback reports gradebook.db grades.csv .work
