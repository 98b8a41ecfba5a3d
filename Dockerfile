# syntax=docker/dockerfile:1
# mpetl for deployment: `docker build -t mpetl .`, then see compose.yaml and README "Deploy".
#
# The build stage compiles without the sandbox emulators (`--no-default-features`): a deployment
# talks to the real APIs only. A cold build takes ~35 minutes on 2 cores (polars); the cache
# mounts keep the registry and target between builds.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY sandbox ./sandbox
COPY src ./src
COPY tests ./tests
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --no-default-features --bin mpetl \
 && cp target/release/mpetl /usr/local/bin/mpetl \
 && strip /usr/local/bin/mpetl

FROM debian:bookworm-slim
# CA certificates for the marketplaces' and Telegram's TLS; nothing else is needed at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home mpetl \
 && mkdir -p /data /etc/mpetl \
 && chown mpetl:mpetl /data
COPY --from=build /usr/local/bin/mpetl /usr/local/bin/mpetl
COPY mpetl.toml /etc/mpetl/mpetl.toml
COPY jobs/nightly.toml /etc/mpetl/jobs/nightly.toml
# Lake, marts and (without Redis) the state live in /data: mount a volume there.
ENV MPETL_CONFIG=/etc/mpetl/mpetl.toml \
    MPETL_DATA_DIR=/data \
    NO_COLOR=1
VOLUME ["/data"]
USER mpetl:mpetl
WORKDIR /data
# SIGTERM stops running jobs at their next page; the next start resumes them.
STOPSIGNAL SIGTERM
ENTRYPOINT ["mpetl"]
CMD ["schedule", "--bot", "--jobs", "/etc/mpetl/jobs"]
