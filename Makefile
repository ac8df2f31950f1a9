# The two commands: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup run test lint fmt bench clean web-test

# The web page: web/ (TypeScript, Vite) built into the package, when its sources changed.
WEB_STAMP   := src/cairn/server/webui/.built
WEB_SOURCES := $(wildcard web/src/*.ts web/src/*.css) web/index.html web/package.json \
	web/package-lock.json web/vite.config.ts web/tsconfig.json

# System packages the project needs (installed with apt-get when missing).
setup: $(STAMP) $(WEB_STAMP)
	@bash scripts/system-deps.sh
	@$(BIN)/python -m compileall -q src >/dev/null

$(WEB_STAMP): $(WEB_SOURCES) scripts/system-deps.sh
	@bash scripts/system-deps.sh
	$(SAY) "building the web page (npm ci, tsc, vite build: about 10 s the first time)"
	@cd web && npm ci --no-audit --no-fund --loglevel=error
	@cd web && npx tsc --noEmit && npx vite build --logLevel warn
	@mkdir -p $(dir $(WEB_STAMP)) && touch $(WEB_STAMP)

# pip runs with --quiet (its own output is pages of "Requirement already satisfied"), so
# each step says on a line of its own what it installs: the last one is silent for
# minutes the first time, while llama-cpp-python compiles llama.cpp.
SAY := @echo "cairn setup:"

$(STAMP): pyproject.toml scripts/system-deps.sh
	@bash scripts/system-deps.sh
	$(SAY) "installing Cairn into $(VENV) (the first time takes several minutes)"
	@test -x $(BIN)/python || { echo "cairn setup: creating the virtualenv $(VENV)"; \
		$(PYTHON) -m venv $(VENV); }
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Cairn needs Python 3.11 or newer in $(VENV)"; exit 1; }
	$(SAY) "[1/3] upgrading pip"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@# torch first, pinned: the CPU build on local disk, not a multi-GB CUDA download.
	$(SAY) "[2/3] installing torch 2.13.0 (CPU build)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(SAY) "[3/3] installing Cairn and its dependencies; the first time, building" \
		"llama-cpp-python from source takes minutes (about 6) with no output"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)
	$(SAY) "done"

# Cairn's main job: the server, on the example runbooks (prints its URL and token).
run: setup
	@$(BIN)/cairn serve examples --show-token

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# The front end's unit tests (Vitest); its browser tests are in the pytest suite.
web-test: setup
	cd web && npx vitest run

# Two workers: each gets its own temporary dirs and PostgreSQL server (see tests/pgserver.py).
test: lint web-test
	$(BIN)/pytest -n 2

fmt: setup
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# Every script of bench/ prints its table, with ratios against a baseline of the same run.
bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis web/node_modules \
		src/cairn/server/webui
