# Two stages: build the wheel (the same artefact `pip install` users get), then install only the wheel.
# The configuration is not baked in: the wheel carries the defaults, and docker-compose.yml mounts ./config.
FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN python -m pip install --no-cache-dir --upgrade pip \
 && python -m pip wheel --no-cache-dir --no-deps -w /dist .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 XZNEWS_DATA_DIR=/data XZNEWS_WEB_HOST=0.0.0.0
COPY --from=build /dist /dist
RUN python -m pip install --no-cache-dir --upgrade pip \
 && wheel=$(ls /dist/xznews-*.whl) && python -m pip install --no-cache-dir "${wheel}[postgres]" \
 && rm -rf /dist \
 && useradd --create-home xznews && mkdir -p /data && chown xznews /data
USER xznews
WORKDIR /home/xznews
VOLUME ["/data"]
# Unsubscribe and confirmation links, /healthz (xznews web, also served by the daemon).
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["xznews"]
CMD ["run"]
