# Two entry points on a new machine: `make book` and `make test`. Both create (or reuse) .venv and
# install everything the project needs from its own files.
PYTHON ?= python3
VENV ?= .venv
PARAMS ?= demo
# The CPU wheel of torch is installed before anything that depends on it (captum), so pip never
# resolves a multi-GB CUDA build on a CPU machine. Override for a GPU build, e.g.
#   make book TORCH_SPEC="torch==2.13.0 --index-url <your CUDA wheel index>"
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=
# The teaching world's book in `make site`: demo (3 experiments, quick) or teach (the study's 10; the
# publishing workflow builds it).
SITE_TEACHING ?= demo
# The data folder of the public files (flarelib data): a verified copy beside the checkout when there is
# one, else flarelib's default (the user cache folder).
SHARED_DATA := $(wildcard $(abspath ../shared/data))
ifneq ($(SHARED_DATA),)
export FLARELIB_DATA_DIR ?= $(SHARED_DATA)
endif

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MATHJAX := node_modules/mathjax/es5/tex-chtml.js

.PHONY: install book run site test browser clean lab

install: $(STAMP) $(MATHJAX)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(TORCH_SPEC)
	$(BIN)/python -m pip install -e ".[test]"
	touch $(STAMP)

$(MATHJAX): package.json
	npm install --no-audit --no-fund --no-package-lock
	touch $(MATHJAX)

book: install
	$(BIN)/flarelib book --params $(PARAMS)

run: install
	$(BIN)/flarelib run --params $(PARAMS)

# Both books (the study on the real Sun, the teaching world) and a landing page in _build/site/.
site: install
	$(BIN)/flarelib site --teaching $(SITE_TEACHING)

test: install browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Debian's chromium for the browser test of the site (tests/test_site.py); installed with apt when this
# runs as root and it is missing. Where it cannot be installed, that test is skipped and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } \
		|| echo "chromium is not installed: the browser test will be skipped"

# The chapters as notebooks in JupyterLab (the notebook extra); a chapter opened there finds its run
# folder and parameters itself and makes the chapters it reads (flarelib.compendium.notebook).
lab: install
	$(BIN)/python -m pip install -e ".[test,notebook]"
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf runs _build
