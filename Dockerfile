# raqib: the daemon (`raqib run`) and the crawl workers (`raqib worker`) run from this image.
# It installs the wheel built from these sources, as tests/test_install.py does: the build stage
# copies what that test copies (the COPY lines below), and nothing from the checkout reaches the
# final image but the wheel and the shipped configuration.
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY crawler ./crawler
COPY monitor ./monitor
COPY storage ./storage
COPY config ./config
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY --from=build /wheels /wheels
RUN pip install /wheels/raqib-*.whl \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --create-home --home-dir /var/lib/raqib raqib

# The shipped catalogue and rules where operators can see and replace them; compose mounts its
# own settings.yaml over this one. Without RAQIB_CONFIG_DIR raqib reads the same files from the
# installed package (monitor.default_config).
COPY config/*.yaml /etc/raqib/
ENV RAQIB_CONFIG_DIR=/etc/raqib

USER raqib
WORKDIR /var/lib/raqib
ENTRYPOINT ["raqib"]
CMD ["--help"]
