FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
RUN pip install --no-cache-dir -r requirements.txt && pip install --no-cache-dir --no-deps -r requirements-nodeps.txt
COPY . .
RUN DJANGO_SECRET_KEY=build python manage.py collectstatic --noinput --verbosity 0
RUN useradd --create-home facesite && mkdir -p /app/var && chown facesite /app/var
USER facesite
EXPOSE 8000
CMD ["gunicorn", "facesite.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60"]
