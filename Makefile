# chat: the commands a newcomer needs. `make help` lists them.
CARGO ?= cargo
HOST  ?= 127.0.0.1
PORT  ?= 12345
NAME  ?=
# e.g. make bench BENCH_ARGS='--case fanout --reps 3'
BENCH_ARGS ?= --reps 5
FUZZ_SECONDS ?= 60

.PHONY: help build run-server run-client test bench lint fmt fuzz soak clean

help:
	@echo "make run-server               start the server on $(HOST):$(PORT)"
	@echo "make run-client NAME=bob      start a client (asks for a name without NAME)"
	@echo "make test                     run every test"
	@echo "make bench                    measure the release server (BENCH_ARGS='$(BENCH_ARGS)')"
	@echo "make soak                     many clients, some hostile, for 2 minutes; check every byte"
	@echo "                              and order (SOAK_SECONDS=120 SOAK_CLIENTS=40 SOAK_HOSTILE=2"
	@echo "                              SOAK_SEED=<from the clock>)"
	@echo "make lint                     check formatting and clippy (-D warnings)"
	@echo "make build                    build the release binaries into target/release"
	@echo "make fuzz                     fuzz the frame decoders, $(FUZZ_SECONDS) s each (FUZZ_SECONDS=N)"

build:
	$(CARGO) build --release

run-server:
	@$(CARGO) run --quiet --release --bin chat-server -- --host $(HOST) --port $(PORT)

run-client:
	@$(CARGO) run --quiet --release --bin chat-client -- --host $(HOST) --port $(PORT) $(if $(NAME),--name $(NAME))

# The whole workspace: the library and its binaries, and bench/, whose quick run
# (bench/tests/bench_quick.rs) keeps the bench working. The tests open many connections in one
# process: the soft open-file limit is raised to the hard one where the system allows, and the
# tests size themselves to what they get (they pass at the common 1024 too).
test:
	ulimit -n "$$(ulimit -Hn)" 2>/dev/null || true; $(CARGO) test --workspace

# The bench (the chat-bench package in bench/) starts target/release/chat-server itself, so the
# server is built first; the bench lands beside it in the shared target directory.
bench:
	$(CARGO) build --release
	@$(CARGO) run --quiet --release --package chat-bench -- $(BENCH_ARGS)

# Not part of `make test`: it takes minutes. SOAK_SECONDS, SOAK_CLIENTS, SOAK_HOSTILE (hostile
# clients of each kind at once) and SOAK_SEED are read from the environment (`make soak
# SOAK_SECONDS=10` passes them too).
soak:
	$(CARGO) test --release --test soak -- --ignored --nocapture

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# The fuzz targets live in fuzz/, a crate of their own (see fuzz/run.sh); not part of `make test`.
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

clean:
	$(CARGO) clean
