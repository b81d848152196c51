# One image for the reward service, the sandbox and the trainer (compose.yaml picks the command).
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap g++ nodejs \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Pin torch first: a looser requirement pulls a multi-GB CUDA build. For a CPU-only image, set
# PIP_EXTRA_INDEX_URL to PyTorch's CPU wheel index at build time.
ARG PIP_EXTRA_INDEX_URL=""
RUN pip install --no-cache-dir torch==2.13.0
COPY pyproject.toml README.md ./
COPY rewards rewards
COPY sandbox sandbox
COPY trainer trainer
RUN pip install --no-cache-dir .

RUN useradd --create-home rlvr
USER rlvr
EXPOSE 8000 8001
CMD ["rlvr", "serve", "--host", "0.0.0.0", "--port", "8000"]
