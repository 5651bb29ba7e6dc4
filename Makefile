# Two commands do all set-up on a fresh machine:
#   make demo   - build the environment, then run the instructor/TA pipeline on the bundled example submissions
#   make test   - build the environment, then run ruff and the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest processes for `make test` (pytest-xdist); modules with expensive module fixtures stay on one process
TEST_WORKERS ?= 2

.PHONY: demo test lint bench release clean chromium

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/labs demo

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

# The browser test (tests/test_browser.py) drives Debian's Chromium through Playwright (Playwright's own browser
# download is not used). Installed here when missing and apt-get can run as root; otherwise that test is skipped.
chromium:
	@test -x /usr/bin/chromium || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q chromium >/dev/null 2>&1 \
	  || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } \
	  || echo "could not install chromium: tests/test_browser.py will be skipped"; \
	else echo "no /usr/bin/chromium (as root: apt-get install -y chromium): tests/test_browser.py will be skipped"; fi; }

release: $(STAMP)
	$(BIN)/labs release

bench: $(STAMP)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf autograded/*/ feedback reports gradebook.db grades.csv .work
