"""Face search as a collection grows: the whole-collection load, the first search after one enrolment
(caught up from the change log), later searches, and a 1:1 badge check.

    .venv/bin/python bench/search.py [--faces 10000 100000] [--database-url postgres://...]

Embeddings are synthetic but shaped like faces: identities drawn from a low-dimensional latent space
mapped into 128 dimensions, several noisy samples per identity, L2-normalised (SFace's size). The default
database is a throw-away SQLite file; pass --database-url for PostgreSQL.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--database-url")
    args = parser.parse_args()
    var = tempfile.mkdtemp(prefix="facesite-bench-search-")
    os.environ["FACESITE_VAR_DIR"] = var
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{var}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facesite.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(
        f"{'faces':>8} {'full load':>10} {'index memory':>13} {'1st search after enrolment':>27} "
        f"{'search p50/p95':>16} {'verify p50':>11}"
    )
    for n in args.faces:
        print(run(n))


def synthetic(n: int, rng) -> tuple:
    import numpy as np

    per_person = 3
    people = -(-n // per_person)
    latent = rng.standard_normal((people, 32)).astype(np.float32)
    projection = rng.standard_normal((32, 128)).astype(np.float32)
    centres = latent @ projection
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    # Samples of one identity at cosine ~0.8 from each other, as photos of one person roughly are.
    noise = 0.06 * rng.standard_normal((n, 128)).astype(np.float32)
    samples = np.repeat(centres, per_person, axis=0)[:n] + noise
    samples /= np.linalg.norm(samples, axis=1, keepdims=True)
    return samples, np.repeat(np.arange(people), per_person)[:n]


def run(n: int) -> str:
    import uuid

    import numpy as np
    import psutil
    from django.db import connection

    from recognition.engines.index import CollectionIndexes
    from recognition.face_store import DatabaseFaceStore
    from recognition.models import Collection, Face, Image, Person
    from recognition.services.collections import collections_changed

    rng = np.random.default_rng(n)
    collection = Collection.objects.create(name=f"bench-{n}")
    image = Image.objects.create(collection=collection, sha256="0" * 64, status=Image.Status.DONE)
    vectors, owners = synthetic(n, rng)
    people = Person.objects.bulk_create(Person(name=f"p{i}") for i in range(int(owners.max()) + 1))
    vectors_for_rows = vectors.astype("<f4")
    for start in range(0, n, 5000):  # in batches, so the rows never sit in memory all at once
        Face.objects.bulk_create(
            Face(image=image, left=0.3, top=0.2, width=0.4, height=0.5, confidence=99.0, is_reference=True,
                 collection=collection, engine="bench", model_version="1", engine_face_id=str(uuid.uuid4()),
                 person=people[int(owners[i])], embedding=vectors_for_rows[i].tobytes())
            for i in range(start, min(n, start + 5000))
        )  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would have done after such a load
    store, indexes = DatabaseFaceStore(), CollectionIndexes(engine="bench", model_version="1")
    del vectors_for_rows
    gc.collect()
    rss_before = psutil.Process().memory_info().rss
    start = time.perf_counter()
    indexes.get(store, collection.name)
    full_load = time.perf_counter() - start
    gc.collect()
    index_memory = (psutil.Process().memory_info().rss - rss_before) / 2**20

    def probe() -> np.ndarray:
        query = vectors[rng.integers(n)] + 0.2 * rng.standard_normal(128).astype(np.float32)
        return query / np.linalg.norm(query)

    newcomer = Person.objects.create(name="newcomer")
    face = Face.objects.create(
        image=image, left=0.3, top=0.2, width=0.4, height=0.5, confidence=99.0, is_reference=True,
        collection=collection, engine="bench", model_version="1", engine_face_id=str(uuid.uuid4()),
        person=newcomer, embedding=probe().astype("<f4").tobytes(),
    )  # fmt: skip
    collections_changed(references=[face])
    start = time.perf_counter()
    indexes.get(store, collection.name).search(probe(), k=5)
    after_enrolment = time.perf_counter() - start
    assert indexes.full_loads == 1, "caught up without a reload"

    times = []
    for _ in range(100):
        start = time.perf_counter()
        indexes.search_users(store, collection.name, probe(), to_similarity=lambda c: c * 100, threshold=0,
                             max_users=5)  # fmt: skip
        times.append(time.perf_counter() - start)
    verify = []
    for _ in range(50):
        start = time.perf_counter()
        store.user_embeddings(collection.name, str(newcomer.pk), engine="bench", model_version="1")
        verify.append(time.perf_counter() - start)
    ordered = sorted(times)
    search = f"{statistics.median(ordered) * 1000:.1f}/{ordered[94] * 1000:.1f} ms"
    return (
        f"{n:>8} {full_load * 1000:>8.0f} ms {index_memory:>10.0f} MB {after_enrolment * 1000:>24.1f} ms "
        f"{search:>16} {statistics.median(verify) * 1000:>8.2f} ms"
    )


if __name__ == "__main__":
    main()
