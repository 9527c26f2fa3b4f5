# chat: the commands a newcomer needs. `make help` lists them.
CARGO ?= cargo
HOST  ?= 127.0.0.1
PORT  ?= 12345
NAME  ?=
# e.g. make bench BENCH_ARGS='--case fanout --reps 3'
BENCH_ARGS ?= --reps 5

.PHONY: help build run-server run-client test bench lint fmt clean

help:
	@echo "make run-server               start the server on $(HOST):$(PORT)"
	@echo "make run-client NAME=bob      start a client (asks for a name without NAME)"
	@echo "make test                     run every test"
	@echo "make bench                    measure the release server (BENCH_ARGS='$(BENCH_ARGS)')"
	@echo "make lint                     check formatting and clippy (-D warnings)"
	@echo "make build                    build the release binaries into target/release"

build:
	$(CARGO) build --release

run-server:
	@$(CARGO) run --quiet --release --bin chat-server -- --host $(HOST) --port $(PORT)

run-client:
	@$(CARGO) run --quiet --release --bin chat-client -- --host $(HOST) --port $(PORT) $(if $(NAME),--name $(NAME))

test:
	$(CARGO) test

# The bench starts target/release/chat-server itself, so both are built first.
bench:
	$(CARGO) build --release
	@$(CARGO) run --quiet --release --bin chat-bench -- $(BENCH_ARGS)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
