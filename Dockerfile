FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 XZNEWS_DATA_DIR=/data
COPY pyproject.toml README.md ./
COPY xznews ./xznews
COPY ingest ./ingest
COPY alerts ./alerts
COPY store ./store
COPY core ./core
COPY config ./config
COPY seeds ./seeds
RUN pip install --no-cache-dir -e '.[postgres]' && useradd --create-home xznews && mkdir -p /data && chown xznews /data
USER xznews
VOLUME ["/data"]
# Unsubscribe and confirmation links (xznews web, also served by the daemon).
EXPOSE 8080
ENTRYPOINT ["xznews"]
CMD ["run"]
