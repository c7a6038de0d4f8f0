# fuyun-bridge: a static binary on distroless, run as non-root.
#   docker build -t fuyun-bridge:$(git describe --tags) --build-arg VERSION=$(git describe --tags) .
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
COPY --from=build /out/fuyun-bridge /usr/local/bin/fuyun-bridge
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/fuyun-bridge"]
CMD ["serve", "--config", "/etc/fuyun-bridge/bridge.yaml"]
