# q2c's image: the worker, the intake, the codec server and the embedded systems, one command
# each (`q2c worker`, `q2c intake`, `q2c codec-server`, `python -m systems`).
# docker-compose.temporal.yml builds it; tests/devstack/test_compose_file.py checks it.
FROM python:3.11.14-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    Q2C_HOME=/var/lib/q2c

WORKDIR /opt/q2c

# The dependencies pinned in pyproject.toml, as `make install` installs them (without the
# dev tools): the project is installed from its own pyproject.toml and nothing else.
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY billing ./billing
COPY activities ./activities
COPY workflows ./workflows
COPY workers ./workers
COPY starters ./starters
COPY ops ./ops
COPY devstack ./devstack
COPY cli ./cli
COPY systems ./systems
# pip writes the bytecode as it installs, so the worker's sandbox never compiles the workflow
# module again (the worker finds it there and writes nothing).
RUN python -m pip install . \
    && useradd --system --uid 10001 --home-dir /var/lib/q2c --create-home q2c \
    && install -d -o q2c -g q2c /var/lib/q2c/outbox

USER q2c
WORKDIR /var/lib/q2c
# intake, codec server, embedded systems, worker metrics
EXPOSE 8410 8235 8400 9464
ENTRYPOINT ["q2c"]
CMD ["worker"]
