# raqib: the daemon (`raqib run`) and the crawl workers (`raqib worker`) run from this image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY crawler ./crawler
COPY monitor ./monitor
COPY storage ./storage
RUN pip install . \
    && useradd --system --uid 10001 --create-home --home-dir /var/lib/raqib raqib

# The shipped catalogue and rules; compose mounts its own settings.yaml over this one.
COPY config /etc/raqib
ENV RAQIB_CONFIG_DIR=/etc/raqib

USER raqib
WORKDIR /var/lib/raqib
ENTRYPOINT ["raqib"]
CMD ["--help"]
