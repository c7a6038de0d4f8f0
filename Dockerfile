# fuyun-bridge: a static binary on distroless, run as non-root. The same image, without Docker:
# `make image` (cmd/fuyun-bridge-image); releases publish it with GoReleaser (docs/releases.md).
#   docker build -t fuyun-bridge:$(git describe --tags --always --dirty) \
#     --build-arg VERSION=$(git describe --tags --always --dirty) .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/fuyun-bridge ./cmd/fuyun-bridge

# static: no libc needed (CGO_ENABLED=0); has CA certificates and tzdata; nonroot is uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=""
LABEL org.opencontainers.image.title="fuyun-bridge" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/fuyun-bridge/fuyun-bridge" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/fuyun-bridge /usr/local/bin/fuyun-bridge
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/fuyun-bridge"]
CMD ["serve", "--config", "/etc/fuyun-bridge/bridge.yaml"]
