# chat: the commands a newcomer needs. `make help` lists them.
CARGO ?= cargo
HOST  ?= 127.0.0.1
PORT  ?= 12345
NAME  ?=

.PHONY: help build run-server run-client test soak lint fmt clean

help:
	@echo "make run-server               start the server on $(HOST):$(PORT)"
	@echo "make run-client NAME=bob      start a client (asks for a name without NAME)"
	@echo "make test                     run every test"
	@echo "make soak                     many clients for 2 minutes, then check every byte and order"
	@echo "                              (SOAK_SECONDS=120 SOAK_CLIENTS=40 SOAK_SEED=<from the clock>)"
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

# Not part of `make test`: it takes minutes. SOAK_SECONDS, SOAK_CLIENTS and SOAK_SEED are read
# from the environment (`make soak SOAK_SECONDS=10` passes them too).
soak:
	$(CARGO) test --release --test soak -- --ignored --nocapture

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
