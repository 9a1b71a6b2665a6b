"""Face search as a collection grows, on each kind of search: loading or building, the memory a web or
worker process spends, search latency, identity recall@1 against exact search, the first search after
one enrolment, and a 1:1 badge check.

    .venv/bin/python bench/search.py --backend memory [--faces 10000 100000 1000000]
    .venv/bin/python bench/search.py --backend pgvector [--faces ...] [--ef 40 100 200]
        [--build-memory 4GB] [--shared-buffers 4GB] [--ef-construction 64] [--probes 200]
    .venv/bin/python bench/search.py --calibrate

``memory`` runs on a throw-away SQLite file, ``pgvector`` on a private PostgreSQL with pgvector
(tests/pgvector_server.py); --database-url names another database instead (it gets "bench-N" collections).

Embeddings are synthetic but shaped like SFace's (--calibrate prints both): each identity is a point made
of a part from a 16-d latent space (what faces have in common: age, sex, pose...), an isotropic part and
a part every face shares, so that two different people's faces have a cosine of about 0.05 ± 0.10; each
enrolled photo and each probe is that point plus noise, two photos of one person at a cosine of about
0.69. Recall@1 is how often the search's best person is exact search's best person.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arguments import positive_int  # noqa: E402  (beside this script)

DIMENSIONS, LATENT, SAMPLES = 128, 16, 3
SHARED, STRUCTURED = 0.07, 0.35  # shares of a face's energy: common to all faces, and from the latent space
NOISE = 0.059  # per dimension: two photos of one person at cosine 1 / (1 + 128 * NOISE**2) ≈ 0.69
PROBES = 200
K = 40  # faces asked for per search: what search_users asks for 10 people


class Faces:
    """Synthetic identities; ``enrolled`` photos of them and ``probe`` photos, as unit vectors."""

    def __init__(self, n: int, seed: int):
        self.rng = np.random.default_rng(seed)
        people = -(-n // SAMPLES)
        shared = unit(self.rng.standard_normal(DIMENSIONS))
        latent = unit(self.rng.standard_normal((people, LATENT)) @ self.rng.standard_normal((LATENT, DIMENSIONS)))
        isotropic = unit(self.rng.standard_normal((people, DIMENSIONS)))
        self.centres = unit(
            np.sqrt(STRUCTURED) * latent + np.sqrt(1 - SHARED - STRUCTURED) * isotropic + np.sqrt(SHARED) * shared
        ).astype(np.float32)
        self.owners = np.repeat(np.arange(people), SAMPLES)[:n]
        self.enrolled = self.photos(self.owners)

    def photos(self, identities: np.ndarray) -> np.ndarray:
        noise = NOISE * self.rng.standard_normal((len(identities), DIMENSIONS)).astype(np.float32)
        return unit(self.centres[identities] + noise).astype(np.float32)

    def probes(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """New photos of enrolled people, and exact search's best person for each."""
        identities = self.rng.integers(len(self.centres), size=count)
        queries = self.photos(identities)
        best = [self.owners[int(np.argmax(self.enrolled @ q))] for q in queries]
        return queries, np.array(best)


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("memory", "pgvector"), default="memory")
    parser.add_argument("--faces", type=positive_int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--ef", type=positive_int, nargs="+", default=[40, 100, 200], help="pgvector's hnsw.ef_search")
    parser.add_argument(
        "--probes", type=positive_int, default=PROBES, help="searches per setting, for recall and latency"
    )
    parser.add_argument("--ef-construction", type=positive_int, default=64, help="pgvector's HNSW build parameter")
    parser.add_argument("--build-memory", default="4GB", help="maintenance_work_mem for building HNSW")
    parser.add_argument(
        "--shared-buffers", default="4GB", help="the private PostgreSQL's shared_buffers: it should hold the index"
    )
    parser.add_argument("--database-url")
    parser.add_argument("--calibrate", action="store_true", help="compare with SFace on the test photos")
    args = parser.parse_args()
    if args.calibrate:
        calibrate()
        return
    with database(args) as url:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facesite.settings")
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        print(
            f"{'backend':>16} {'faces':>9} {'build/load':>11} {'process memory':>15} {'search p50/p95':>16} "
            f"{'recall@1':>9} {'1st after enrolment':>20} {'verify p50/p95':>15}"
        )
        for n in args.faces:
            for row in run(n, args):
                print(row, flush=True)


@contextlib.contextmanager
def database(args: argparse.Namespace) -> Iterator[str]:
    if args.database_url:
        yield args.database_url
    elif args.backend == "pgvector":
        from tests.pgvector_server import running

        with running({"shared_buffers": args.shared_buffers}) as url:
            yield url
    else:
        with tempfile.TemporaryDirectory(prefix="facesite-bench-search-") as var:
            os.environ["FACESITE_VAR_DIR"] = var
            yield f"sqlite:///{var}/bench.sqlite3"


def run(n: int, args: argparse.Namespace) -> Iterator[str]:
    import psutil

    from recognition import face_vectors
    from recognition.engines.index import CollectionIndexes, best_per_user
    from recognition.face_store import DatabaseFaceStore
    from recognition.models import Person
    from recognition.services.collections import collections_changed

    faces = Faces(n, seed=n)
    collection, image, people = load(n, faces)
    name = collection.name
    process = psutil.Process()
    gc.collect()
    rss_before = process.memory_info().rss
    start = time.perf_counter()
    if args.backend == "memory":
        search = CollectionIndexes(DatabaseFaceStore())
        search.get(name, engine="bench", model_version="1")
    else:
        face_vectors.install(build_memory=args.build_memory, ef_construction=args.ef_construction)
        search = face_vectors.PgvectorFaceSearch()
    build = time.perf_counter() - start
    settings = [None] if args.backend == "memory" else args.ef
    queries, truth = faces.probes(args.probes)

    def best_person(query: np.ndarray) -> str:
        nearest = search.nearest(name, query, k=K, engine="bench", model_version="1")
        return best_per_user(nearest, max_users=10)[0].user_id

    newcomer = Person.objects.create(name="newcomer")
    enrolment = enrol(collection, image, newcomer, faces.photos(np.array([0]))[0])
    collections_changed(references=[enrolment])
    start = time.perf_counter()
    best_person(queries[0])
    after_enrolment = time.perf_counter() - start
    store = DatabaseFaceStore()
    verify = timed(lambda: store.user_embeddings(name, str(newcomer.pk), engine="bench", model_version="1"), 50)

    for ef in settings:
        if ef is not None:
            search = face_vectors.PgvectorFaceSearch(ef_search=ef)
        found = [best_person(q) for q in queries]  # warms the caches, and measures recall
        recall = np.mean([person == str(people[int(t)].pk) for person, t in zip(found, truth, strict=True)])
        latencies = sorted(timed(lambda q=q: best_person(q), 1)[0] for q in queries)
        gc.collect()
        memory = (process.memory_info().rss - rss_before) / 2**20
        label = args.backend if ef is None else f"pgvector ef={ef}"
        verify_p95 = sorted(verify)[int(0.95 * len(verify))]
        yield (
            f"{label:>16} {n:>9,} {build:>9.1f} s {memory:>12.0f} MB "
            f"{statistics.median(latencies):>7.1f}/{latencies[int(0.95 * len(latencies))]:.1f} ms "
            f"{recall:>9.3f} {after_enrolment * 1000:>17.1f} ms {statistics.median(verify):>6.2f}/{verify_p95:.2f} ms"
        )


def load(n: int, faces: Faces) -> tuple:
    from django.db import connection

    from recognition.models import Collection, Image, Person

    collection = Collection.objects.create(name=f"bench-{n}-{uuid.uuid4().hex[:6]}")
    image = Image.objects.create(collection=collection, sha256="0" * 64, status=Image.Status.DONE)
    people = Person.objects.bulk_create(Person(name=f"p{i}") for i in range(len(faces.centres)))
    for start in range(0, n, 5000):  # in batches, so the rows never sit in memory all at once
        enrol(collection, image, [people[int(faces.owners[i])] for i in range(start, min(n, start + 5000))],
              faces.enrolled[start : start + 5000])  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would have done after such a load
    return collection, image, people


def enrol(collection, image, people, vectors: np.ndarray):
    """Reference faces of ``people`` (one, or one per vector) with these embeddings; the last one made."""
    from recognition.models import Face

    people = people if isinstance(people, list) else [people]
    vectors = np.atleast_2d(vectors).astype("<f4")
    made = Face.objects.bulk_create(
        Face(image=image, left=0.3, top=0.2, width=0.4, height=0.5, confidence=99.0, is_reference=True,
             collection=collection, engine="bench", model_version="1", engine_face_id=str(uuid.uuid4()),
             person=people[i % len(people)], embedding=vector.tobytes())
        for i, vector in enumerate(vectors)
    )  # fmt: skip
    return made[-1]


def timed(call, repeat: int) -> list[float]:
    """Milliseconds per call."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def calibrate() -> None:
    """Cosines between SFace embeddings of the faces in the test photos, beside the synthetic ones'."""
    from recognition.engines.local import LocalEngine

    engine = LocalEngine()
    photos = sorted(p for p in (ROOT / "tests" / "fixtures").iterdir() if p.suffix in (".jpg", ".png"))
    real = [
        (photo.stem.rstrip("0123456789"), unit(face.embedding))
        for photo in photos
        for face in engine.detect_faces(photo.read_bytes(), attributes=False)
    ]
    same = [float(a @ b) for i, (x, a) in enumerate(real) for y, b in real[i + 1 :] if x == y]
    other = [float(a @ b) for i, (x, a) in enumerate(real) for y, b in real[i + 1 :] if x != y]
    faces = Faces(3000, seed=1)
    first, second = faces.photos(np.arange(1000)), faces.photos(np.arange(1000))
    synthetic_same = np.sum(first * second, axis=1)
    synthetic_other = np.sum(first[:-1] * first[1:], axis=1)
    print(f"{'':>26} {'same person':>22} {'different people':>22}")
    print(f"{'SFace, the test photos':>26} {describe(same):>22} {describe(other):>22}")
    print(f"{'synthetic':>26} {describe(synthetic_same):>22} {describe(synthetic_other):>22}")


def describe(cosines) -> str:
    return f"{np.mean(cosines):.2f} ± {np.std(cosines):.2f} (n={len(cosines)})"


if __name__ == "__main__":
    main()
