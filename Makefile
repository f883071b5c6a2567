# Two commands: 'make run' and 'make test'. Both start what they need (scripts/).
.PHONY: run test lint build bench fuzz stop clean loadtest

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

# golangci-lint (.golangci.yml) at a pinned version, and go.mod tidy.
lint:
	bash scripts/lint.sh

build:
	bash scripts/deps.sh
	go build -o var/bin/coffre ./cmd/coffre

# Benchmarks named in the issues, against the same real services as the tests.
bench:
	bash scripts/test.sh -run '^$$' -bench . -benchmem -benchtime 3x

# About ten minutes of load with faults on services of its own (scripts/loadtest.sh).
loadtest:
	bash scripts/loadtest.sh

stop:
	bash scripts/minio.sh stop
	bash scripts/postgres.sh stop

clean: stop
	rm -rf var
