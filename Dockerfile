# One image for the reward service, the sandbox, model servers and the trainer (compose.yaml picks the command).
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap g++ nodejs \
 && rm -rf /var/lib/apt/lists/*
# /runs: where the trainer profile writes; a named volume mounted there starts with this owner
RUN useradd --create-home rlvr && mkdir /runs && chown rlvr:rlvr /runs

WORKDIR /app
# torch first, pinned, from the index TORCH_VARIANT picks: cpu (PyTorch's CPU wheels, about 200 MB) or cuda
# (PyPI's build, with its multi-GB CUDA libraries). Installed first, it satisfies the extras' looser
# requirement, so nothing below pulls another build.
ARG TORCH_VARIANT=cpu
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
RUN case "$TORCH_VARIANT" in \
      cpu) pip install --no-cache-dir --index-url "$TORCH_CPU_INDEX" torch==2.13.0 ;; \
      cuda) pip install --no-cache-dir torch==2.13.0 ;; \
      *) echo "TORCH_VARIANT must be cpu or cuda, not '$TORCH_VARIANT'" >&2; exit 1 ;; \
    esac
COPY pyproject.toml README.md ./
COPY rlvr rlvr
COPY rewards rewards
COPY sandbox sandbox
COPY trainer trainer
RUN pip install --no-cache-dir '.[all]'
# the demo (compose's train profile) and the helper it starts its reward service with; it writes its
# table and plot beside itself, so that directory is the user's
COPY --chown=rlvr:rlvr examples examples
COPY tests/__init__.py tests/procs.py tests/

USER rlvr
EXPOSE 8000 8001 8002
# listening on every interface, the service refuses to start without RLVR_API_KEY (or RLVR_INSECURE_NO_AUTH=1)
CMD ["rlvr", "serve", "--host", "0.0.0.0", "--port", "8000"]
