# gameday/sut:dev: the shop (cmd/sut), one static binary on an empty image.
# Built by deploy/docker/build-images.sh, which stages the context:
#   sut           CGO_ENABLED=0 go build -trimpath ./cmd/sut
#   rootfs/data   0755, the default --data directory (mount a volume here)
#   rootfs/tmp    1777, for os.TempDir()
# No VOLUME (a container created without a mount would leave an anonymous,
# unlabelled volume behind) and no EXPOSE (the port is whatever --listen says,
# and `docker run -P` must not publish anything on 0.0.0.0 by surprise).
FROM scratch
COPY rootfs/ /
COPY sut /sut
WORKDIR /
ENTRYPOINT ["/sut"]
CMD ["serve", "--help"]
ARG REVISION=unknown
LABEL org.opencontainers.image.title="gameday shop" \
      org.opencontainers.image.description="The system under test bundled with gameday: sut serve --service NAME (gateway, catalog, cart, orders, inventory, payment)" \
      org.opencontainers.image.source="https://github.com/gameday/gameday" \
      org.opencontainers.image.version="dev" \
      org.opencontainers.image.revision="${REVISION}" \
      io.gameday.revision="${REVISION}" \
      io.gameday.component="sut"
