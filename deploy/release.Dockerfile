# The release image, built by GoReleaser's dockers_v2 (docker buildx) from the binaries it has already built
# and checksummed: its context holds linux/amd64/fuyun-bridge and linux/arm64/fuyun-bridge. The final stage
# of ../Dockerfile and `make image` build the same image from source.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETPLATFORM
COPY ${TARGETPLATFORM}/fuyun-bridge /usr/local/bin/fuyun-bridge
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/fuyun-bridge"]
CMD ["serve", "--config", "/etc/fuyun-bridge/bridge.yaml"]
