# chat: the commands a newcomer needs. `make help` lists them.
CARGO ?= cargo
HOST  ?= 127.0.0.1
PORT  ?= 12345
NAME  ?=
# Any other options, passed through to the binary: make run-server ARGS='--history 50',
# make run-client NAME=bob ARGS='--timestamps'.
ARGS  ?=
# e.g. make bench BENCH_ARGS='--case fanout --reps 3'
BENCH_ARGS ?= --reps 5
FUZZ_SECONDS ?= 60

# The optional features (Cargo.toml): TLS and accounts, and the terminal UI. The default build
# has none of them.
SECURE := --features tls,accounts

.PHONY: help build build-secure run-server run-client run-tui run-server-tls run-client-tls \
	run-tui-tls test bench bench-tls lint fmt fuzz soak wireshark clean

help:
	@echo "make run-server               start the server on $(HOST):$(PORT) (ARGS='--history 50')"
	@echo "make run-client NAME=bob      start a client as bob, with chat_log_bob.txt and downloads/bob/"
	@echo "                              (asks for a name without NAME; ARGS='--timestamps')"
	@echo "make run-tui NAME=bob         the same in the terminal UI (feature tui)"
	@echo "make run-server-tls           the server with TLS (a self-signed certificate made at start)"
	@echo "make run-client-tls NAME=bob  a client over TLS (trusts the server's certificate on first use)"
	@echo "make run-tui-tls NAME=bob     the terminal UI over TLS"
	@echo "make test                     run every test, in the default build and with every feature"
	@echo "make bench                    measure the release server (BENCH_ARGS='$(BENCH_ARGS)')"
	@echo "make bench-tls                fanout and file over plain TCP and TLS side by side: TLS's cost"
	@echo "make soak                     many clients, some hostile, for 2 minutes; check every byte"
	@echo "                              and order (SOAK_SECONDS=120 SOAK_CLIENTS=40 SOAK_HOSTILE=2"
	@echo "                              SOAK_SEED=<from the clock>)"
	@echo "make lint                     check formatting and clippy (-D warnings)"
	@echo "make build                    build the release binaries into target/release"
	@echo "make build-secure             the same with TLS and accounts (features tls, accounts)"
	@echo "make fuzz                     fuzz the frame decoders, $(FUZZ_SECONDS) s each (FUZZ_SECONDS=N)"
	@echo "make wireshark                capture a short demo session and open it in Wireshark with the"
	@echo "                              chat/1 dissector, or print the tshark command (docs/LAB.md)"

build:
	$(CARGO) build --release

build-secure:
	$(CARGO) build --release $(SECURE)

# Each run builds first, in the open: the first build of a fresh clone takes a while, and a
# quiet one looks hung. Then the binary runs without cargo's lines.
run-server:
	@echo "Building chat-server (about a minute the first time)..."
	@$(CARGO) build --release --bin chat-server
	@$(CARGO) run --quiet --release --bin chat-server -- --host $(HOST) --port $(PORT) $(ARGS)

# With NAME, the user gets a chat log and a downloads folder of their own, so that clients run
# from this one folder do not write to one log or save files over each other's names; unless
# ARGS says otherwise (--log FILE or --no-log, --downloads DIR).
CLIENT_FILES = $(if $(NAME),--name $(NAME) \
	$(if $(findstring -log,$(ARGS)),,--log chat_log_$(NAME).txt) \
	$(if $(findstring --downloads,$(ARGS)),,--downloads downloads/$(NAME)))

run-client:
	@echo "Building chat-client (about a minute the first time)..."
	@$(CARGO) build --release --bin chat-client
	@$(CARGO) run --quiet --release --bin chat-client -- --host $(HOST) --port $(PORT) $(CLIENT_FILES) $(ARGS)

# The same two with TLS and accounts built in (ARGS='--accounts FILE' turns accounts on).
run-server-tls:
	@echo "Building chat-server with TLS and accounts (a minute or two the first time)..."
	@$(CARGO) build --release $(SECURE) --bin chat-server
	@$(CARGO) run --quiet --release $(SECURE) --bin chat-server -- --host $(HOST) --port $(PORT) \
		--tls-self-signed $(ARGS)

run-client-tls:
	@echo "Building chat-client with TLS (a minute or two the first time)..."
	@$(CARGO) build --release $(SECURE) --bin chat-client
	@$(CARGO) run --quiet --release $(SECURE) --bin chat-client -- --host $(HOST) --port $(PORT) \
		--tls $(CLIENT_FILES) $(ARGS)

# The terminal UI: the same client built with the feature tui, run with --tui, with the same
# files of the user's own as run-client.
run-tui:
	@echo "Building chat-client with the terminal UI (a minute or two the first time)..."
	@$(CARGO) build --release --features tui --bin chat-client
	@$(CARGO) run --quiet --release --features tui --bin chat-client -- --tui --host $(HOST) \
		--port $(PORT) $(CLIENT_FILES) $(ARGS)

# The terminal UI over TLS, for a server started with run-server-tls.
run-tui-tls:
	@echo "Building chat-client with the terminal UI and TLS (a minute or two the first time)..."
	@$(CARGO) build --release --features tui,tls --bin chat-client
	@$(CARGO) run --quiet --release --features tui,tls --bin chat-client -- --tui --tls \
		--host $(HOST) --port $(PORT) $(CLIENT_FILES) $(ARGS)

# The whole workspace: the library and its binaries, and bench/, whose quick run
# (bench/tests/bench_quick.rs) keeps the bench working. Twice: the default build, then with
# every feature (the terminal UI, TLS and accounts), whose own tests only run then
# (tests/tui.rs needs tmux). The tests open many connections in one process: the soft open-file
# limit is raised to the hard one where the system allows, and the tests size themselves to
# what they get (they pass at the common 1024 too).
RAISE_OPEN_FILES = ulimit -n "$$(ulimit -Hn)" 2>/dev/null || true

test:
	$(RAISE_OPEN_FILES); $(CARGO) test --workspace
	$(RAISE_OPEN_FILES); $(CARGO) test --workspace --all-features

# The bench (the chat-bench package in bench/) starts target/release/chat-server itself, so the
# server is built first; the bench lands beside it in the shared target directory.
bench:
	$(CARGO) build --release
	@$(CARGO) run --quiet --release --package chat-bench -- $(BENCH_ARGS)

# TLS's cost: the same fanout and file cases over plain TCP and over TLS, a fresh server for
# each run, the two kinds in turn; it ends with the ratio of the medians. The server is built
# with TLS (its plain runs do not use it), then the bench with its `tls` feature.
bench-tls:
	$(CARGO) build --release --features tls
	@$(CARGO) run --quiet --release --package chat-bench --features tls -- --tls $(BENCH_ARGS)

# Not part of `make test`: it takes minutes. SOAK_SECONDS, SOAK_CLIENTS, SOAK_HOSTILE (hostile
# clients of each kind at once) and SOAK_SEED are read from the environment (`make soak
# SOAK_SECONDS=10` passes them too).
soak:
	$(CARGO) test --release --test soak -- --ignored --nocapture

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

fmt:
	$(CARGO) fmt --all

# The fuzz targets live in fuzz/, a crate of their own (see fuzz/run.sh); not part of `make test`.
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

# A demo session captured on loopback (needs tshark, and root or the wireshark group to capture).
wireshark:
	@contrib/wireshark/demo.sh

clean:
	$(CARGO) clean
