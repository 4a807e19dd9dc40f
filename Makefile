# The README's two commands. Both create .venv on first use and install the project.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: check test fuzz lint bench install clean typecheck-tree browser

$(STAMP): pyproject.toml setup.py
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

check: $(STAMP)
	$(BIN)/check-model run specs/hotplug --matrix

# mypy cannot follow the editable install's folder mapping; a tree of links can.
TYPECHECK := $(VENV)/typecheck
typecheck-tree: $(STAMP)
	@mkdir -p $(TYPECHECK)/mhpcheck
	@for f in _mhpcheck/*.py; do ln -sfn ../../../$$f $(TYPECHECK)/mhpcheck/$${f#_mhpcheck/}; done
	@for d in model checker properties cli; do ln -sfn ../../../$$d $(TYPECHECK)/mhpcheck/$$d; done

lint: typecheck-tree
	$(BIN)/ruff check .
	MYPYPATH=$(TYPECHECK) $(BIN)/mypy -p mhpcheck

# The HTML trace viewer's test drives Debian's chromium through chromium-driver. Install
# them when missing and we may (root with apt, as in CI); never fail here: the browser
# test itself fails in CI (CI=true) with a message when they are still missing.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium and chromium-driver for the browser test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium chromium-driver >/dev/null) || echo "make browser: apt-get install failed" >&2; \
	  else \
	    echo "make browser: chromium/chromedriver missing (apt-get install chromium chromium-driver)" >&2; \
	  fi; \
	fi

# The property-based tests draw from a fixed seed (tests/conftest.py prints it), so a red
# build reproduces; SEED=N picks another.
SEED ?=
test: lint browser
	$(BIN)/pytest $(if $(SEED),--hypothesis-seed=$(SEED))

# The same property-based tests with fresh random seeds and many more examples, under nice:
# FUZZ_ROUNDS rounds of FUZZ_EXAMPLES examples per test, each round with a new seed (printed
# before it runs; a failure reproduces with make test SEED=N, docs/design.md "Testing").
FUZZ_ROUNDS ?= 5
FUZZ_EXAMPLES ?= 1000
FUZZ_TESTS ?= tests/test_agreement.py tests/test_replay_property.py \
  tests/test_fast_engine.py::test_random_systems_agree \
  tests/test_fast_engine.py::test_random_systems_with_bad_reads_agree \
  tests/test_jit_engine.py::test_compiled_guards_fire_exactly_where_the_explicit_semantics_fire_them
fuzz: $(STAMP)
	@for round in $$(seq $(FUZZ_ROUNDS)); do \
	  seed=$$($(BIN)/python -c 'import secrets; print(secrets.randbits(64))'); \
	  echo "fuzz round $$round of $(FUZZ_ROUNDS): seed $$seed, $(FUZZ_EXAMPLES) examples per test"; \
	  MHP_AGREEMENT_EXAMPLES=$(FUZZ_EXAMPLES) MHP_HYPOTHESIS_PROFILE=fuzz nice -n 10 \
	    $(BIN)/pytest $(FUZZ_TESTS) -p no:cacheprovider \
	    --hypothesis-seed=$$seed --hypothesis-show-statistics \
	    || { echo "fuzz: FAILED with seed $$seed"; exit 1; }; \
	done

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info
