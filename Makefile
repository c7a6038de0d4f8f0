# Build, image and performance targets; every test is scripts/test. Releases: docs/releases.md.
GO ?= go
LOAD := ./fuyun-bridge-load
N ?= 3000
C ?= 32

# The release version: the nearest tag, commits since it and the commit (v1.2.0-3-g4bfd43f), "-dirty" with
# uncommitted changes; without tags or git, the commit or "dev". `fuyun-bridge version` prints it.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# Where `make image` writes the OCI image layout, and for which architectures (IMAGE_ARCHS="amd64 arm64").
IMAGE_DIR ?= dist/image
IMAGE_ARCHS ?= $(shell $(GO) env GOARCH)
IMAGE_SOURCE ?= https://github.com/fuyun-bridge/fuyun-bridge

.PHONY: build image release-check bench load load-latency soak profile

# A static binary at ./fuyun-bridge, stamped with $(VERSION).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o fuyun-bridge ./cmd/fuyun-bridge

# The container image as an OCI layout in $(IMAGE_DIR), without Docker: the static linux binary on a base of
# CA certificates and a nonroot user, the same layout as the Dockerfile. Copy it to a registry with
# `crane push $(IMAGE_DIR) REF` or `skopeo copy oci:$(IMAGE_DIR) docker://REF`.
image:
	for arch in $(IMAGE_ARCHS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
			-o dist/fuyun-bridge-linux-$$arch ./cmd/fuyun-bridge || exit 1; \
	done
	$(GO) run ./cmd/fuyun-bridge-image --out $(IMAGE_DIR) --version $(VERSION) --source $(IMAGE_SOURCE) \
		$(foreach arch,$(IMAGE_ARCHS),--binary linux/$(arch)=dist/fuyun-bridge-linux-$(arch))

# goreleaser check and a snapshot build for this machine's platform (scripts/release-check).
release-check:
	scripts/release-check

# In-process cost of a login, whole and by stage, with allocations (see README: Performance and resilience).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./bridge/ ./bridge/fuyun/

$(LOAD): FORCE
	$(GO) build -o $(LOAD) ./cmd/fuyun-bridge-load

# N full logins at concurrency C in each exchange mode, stubs and bridge in their own processes.
load: $(LOAD)
	$(LOAD) -n $(N) -c $(C) -mode oauth
	$(LOAD) -n $(N) -c $(C) -mode jwt

# The same with 20 ms on every IdP request and 30 ms on every Fuyun request.
load-latency: $(LOAD)
	$(LOAD) -n $(N) -c $(C) -mode oauth -idp-latency 20ms -fuyun-latency 30ms
	$(LOAD) -n $(N) -c $(C) -mode jwt -idp-latency 20ms -fuyun-latency 30ms

# 10,000 logins at c=64 with goroutine and heap leak checks (not under -race).
soak:
	$(GO) test -count=1 -run '^TestSoakNoLeaks$$' -v ./bridge/

# A CPU profile of the bridge process under load: go tool pprof -top $(LOAD) bridge.prof
profile: $(LOAD)
	$(LOAD) -n $(N) -c $(C) -mode oauth -cpuprofile bridge.prof

FORCE:
