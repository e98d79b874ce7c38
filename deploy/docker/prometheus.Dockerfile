# gameday/prometheus:dev: Prometheus built from its Go module (the version pinned in
# deploy/docker/prometheus/go.mod, equal to the root go.mod's), static, on an empty image.
# Built by deploy/docker/build-images.sh, which stages the context:
#   prometheus                          CGO_ENABLED=0, tags remove_all_sd,enable_dns_sd
#   rootfs/etc/prometheus/prometheus.yml a default config: Prometheus scrapes itself
#   rootfs/prometheus                   0755, the TSDB (mount a volume here)
#   rootfs/tmp                          1777
# The web UI's assets are not compiled in (API only): see docs/runtimes.md.
FROM scratch
COPY rootfs/ /
COPY prometheus /bin/prometheus
WORKDIR /
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", "--web.listen-address=0.0.0.0:9090"]
ARG REVISION=unknown
ARG VERSION=unknown
LABEL org.opencontainers.image.title="gameday prometheus" \
      org.opencontainers.image.description="Prometheus ${VERSION} (service discovery: static, file, http, dns; no web UI assets) for gameday's docker-compose.yml" \
      org.opencontainers.image.source="https://github.com/prometheus/prometheus" \
      org.opencontainers.image.version="${VERSION}" \
      io.gameday.revision="${REVISION}" \
      io.gameday.component="prometheus"
