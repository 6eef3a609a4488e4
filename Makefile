# Two entry points (see README): `make demo` runs the main job, `make test` runs the tests.
# Both create .venv on first use; the stamp file makes them idempotent and quick afterwards.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test test-slow lint

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch 2.13.0 is the CPU wheel on this machine's disk; any other version pulls a CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.stamp-* && touch $@

setup: $(STAMP)

demo: setup
	$(VENV)/bin/nasvl run jobs/quickstart.yaml

test: setup
	$(PY) -m pytest -q -m "not slow and not ray and not gpu"

test-slow: setup
	$(PY) -m pytest -q -m "(slow or ray) and not gpu"

lint: setup
	$(VENV)/bin/ruff check nasvl trackers strategies tests
