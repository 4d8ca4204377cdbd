# Pulse CRM app image. PostgreSQL runs beside it (docker-compose.yml); without CRM_DATABASE_URL
# it falls back to the embedded SQLite file in the /app/data volume.
FROM python:3.11-slim-bookworm

# chromium lets kaleido render chart PNGs on the server; no other system packages are needed.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .

# Run as an unprivileged user; data/ holds the SQLite file when no PostgreSQL is configured.
RUN useradd --create-home crm && mkdir -p /app/data && chown -R crm /app/data
USER crm
# The SQLite file (used only when no PostgreSQL is configured) survives container rebuilds.
VOLUME /app/data

ENV PYTHONUNBUFFERED=1 \
    CRM_DATABASE_URL=sqlite:////app/data/crm.db
EXPOSE 8501
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health')"
# Migrate, then serve. CRM_COOKIE_KEY must be provided (the app refuses to start without it).
CMD ["sh", "-c", "python -m crm init && streamlit run Home.py --server.address 0.0.0.0 --server.port 8501"]
