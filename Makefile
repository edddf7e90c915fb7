# Mailvox — the two commands a newcomer needs are `make run` and `make test`.
PREFIX ?= /usr/local
SWIFT ?= swift
BIN := .build/debug/mailvox
DATA := var
DEMO_MAILBOX := 1000

.PHONY: all build release run test soak fuzz bench install format lint clean

all: build

build:
	scripts/bootstrap run
	$(SWIFT) build

release:
	scripts/bootstrap run
	$(SWIFT) build -c release

# Installs what is missing, builds, makes var/ the first time (never replacing a key), adds
# the demo mailbox 1000 once (its password is printed once), then serves until Ctrl-C.
run: build
	@if [ ! -f $(DATA)/mailvox.toml ]; then $(BIN) init --data-dir $(DATA); fi
	@if ! $(BIN) mailbox show $(DEMO_MAILBOX) --config $(DATA)/mailvox.toml >/dev/null 2>&1; then \
	  $(BIN) mailbox add $(DEMO_MAILBOX) --name "Demo Mailbox" --config $(DATA)/mailvox.toml; fi
	exec $(BIN) serve --config $(DATA)/mailvox.toml

# Every test: unit tests and the CLI driven through the built binary. Fuzzing and
# benchmarks have targets of their own and never run here.
test:
	scripts/bootstrap test
	$(SWIFT) build --build-tests
	/usr/bin/python3 Tests/crash/crash_test.py --binary $(BIN) --deposits 100 --smtp 200 --kills 5
	/usr/bin/python3 Tests/crash/crash_test.py --binary $(BIN) --nodes 3 --deposits 100 --smtp 200 --kills 5
	MAILVOX_BIN=$(CURDIR)/$(BIN) $(SWIFT) test --skip-build

# The long crash test: 500 deposits over HTTPS while serve is SIGKILLed 20 times.
soak: build
	/usr/bin/python3 Tests/crash/crash_test.py --binary $(BIN) --deposits 500 --smtp 500 --kills 20

# libFuzzer + ASan over the parsers, FUZZ_SECONDS each (default 60). Never part of `make test`.
fuzz:
	scripts/bootstrap test
	scripts/fuzz

# Benchmark programs with their peers (lame, opusenc, Dovecot), in release. Never part of `make test`.
bench:
	scripts/bench

install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/mailvox/Templates $(DESTDIR)$(PREFIX)/share/mailvox/systemd
	install -m 755 .build/release/mailvox $(DESTDIR)$(PREFIX)/bin/mailvox
	install -m 644 Templates/* $(DESTDIR)$(PREFIX)/share/mailvox/Templates/
	install -m 644 Config/mailvox.example.toml $(DESTDIR)$(PREFIX)/share/mailvox/mailvox.example.toml
	install -m 644 Config/mailvox.service $(DESTDIR)$(PREFIX)/share/mailvox/systemd/mailvox.service
	@echo "installed $(PREFIX)/bin/mailvox; systemd unit example in $(PREFIX)/share/mailvox/systemd/"

format:
	$(SWIFT) format --in-place --recursive --parallel Package.swift Sources Tests

lint:
	$(SWIFT) format lint --strict --recursive --parallel Package.swift Sources Tests

clean:
	rm -rf .build
