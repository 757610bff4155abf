# One image for every part of the help desk; the command picks the part:
#   docker run IMAGE tickets | ingest | notify | escalation | search | smtp | gateway
#   docker run IMAGE migrate      (create or upgrade the database schemas, then exit)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    METRICS_ADDRESS=0.0.0.0 METRICS_PORT=9100 \
    GATEWAY_ADDRESS=0.0.0.0:8080 SMTP_ADDRESS=0.0.0.0:2525 LOG_FORMAT=json

WORKDIR /app
COPY pyproject.toml README.md config.yaml ./
COPY helpdesk ./helpdesk
COPY services ./services
COPY gateway ./gateway
RUN pip install --no-cache-dir . && useradd --system --uid 999 --home /app helpdesk \
    && mkdir -p /app/var && chown helpdesk /app/var
USER helpdesk

EXPOSE 8080 2525 9100
ENTRYPOINT ["python", "-m", "helpdesk.container"]
CMD ["gateway"]
