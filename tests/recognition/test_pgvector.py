"""The pgvector face search itself: only collected on PostgreSQL with pgvector (tests/pgvector_server.py)."""

from __future__ import annotations

import io
import uuid

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from recognition import face_vectors
from recognition.face_vectors import PgvectorFaceSearch, face_search
from recognition.models import Collection, Face, Image, Person
from recognition.services.collections import collections_changed

pytestmark = [pytest.mark.django_db, pytest.mark.face_search]

ENGINE, MODEL = "local", "sface-2021dec-int8bq"


def enrolled(collection: Collection, vectors: np.ndarray, people: list[Person]) -> list[Face]:
    """Reference faces with these embeddings, one person each in turn, told to the collection."""
    image = Image.objects.create(collection=collection, sha256=uuid.uuid4().hex * 2, status=Image.Status.DONE)
    faces = Face.objects.bulk_create(
        Face(image=image, left=0.3, top=0.2, width=0.4, height=0.5, confidence=99.0, is_reference=True,
             collection=collection, engine=ENGINE, model_version=MODEL, engine_face_id=str(uuid.uuid4()),
             person=people[i % len(people)], embedding=vector.astype("<f4").tobytes())
        for i, vector in enumerate(vectors)
    )  # fmt: skip
    collections_changed(references=faces)
    return faces


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def plan(search: PgvectorFaceSearch, collection: str, query: np.ndarray) -> str:
    """PostgreSQL's plan for the search's query, caught from the cursor."""
    captured: list[str] = []

    def explain(execute, sql, params, many, context):
        if "ORDER BY" in sql:
            execute("EXPLAIN " + sql, params, many, context)
            captured.extend(row[0] for row in context["cursor"].fetchall())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        search.nearest(collection, query, k=5, engine=ENGINE, model_version=MODEL)
    return "\n".join(captured)


def test_searches_walk_the_hnsw_index_and_exact_searches_compare_every_face():
    rng = np.random.default_rng(7)
    collection = Collection.objects.create(name="big")
    vectors = unit(rng.standard_normal((3000, 128)).astype(np.float32))
    people = Person.objects.bulk_create(Person(name=f"p{i}") for i in range(300))
    faces = enrolled(collection, vectors, people)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE recognition_face")
    query = unit(vectors[42] + 0.05 * rng.standard_normal(128).astype(np.float32))

    approximate = PgvectorFaceSearch(ef_search=100)
    assert "recognition_face_embedding_vector_hnsw_128" in plan(approximate, "big", query)
    exact = PgvectorFaceSearch(exact=True)
    assert "hnsw" not in plan(exact, "big", query)

    expected = np.argsort(-(vectors @ query))[:5]
    found = exact.nearest("big", query, k=5, engine=ENGINE, model_version=MODEL)
    assert [n.face_id for n in found] == [faces[i].engine_face_id for i in expected]
    assert [n.cosine for n in found] == pytest.approx([float(vectors[i] @ query) for i in expected], abs=1e-5)
    assert found[0].user_id == str(people[42 % 300].pk)
    assert approximate.nearest("big", query, k=1, engine=ENGINE, model_version=MODEL)[0] == found[0]


def test_only_enrolled_faces_of_the_collection_engine_and_model_are_found():
    rng = np.random.default_rng(8)
    mine, theirs = Collection.objects.create(name="mine"), Collection.objects.create(name="theirs")
    person = Person.objects.create(name="Ada")
    vector = unit(rng.standard_normal(128).astype(np.float32))
    [face] = enrolled(mine, vector[None], [person])
    enrolled(theirs, vector[None], [person])
    search = PgvectorFaceSearch()
    [found] = search.nearest("mine", vector, k=5, engine=ENGINE, model_version=MODEL)
    assert found.face_id == face.engine_face_id and found.cosine == pytest.approx(1.0, abs=1e-5)
    assert search.nearest("mine", vector, k=5, engine=ENGINE, model_version="other") == []
    assert search.nearest("mine", vector, k=5, engine="rekognition", model_version=MODEL) == []
    assert search.nearest("nowhere", vector, k=5, engine=ENGINE, model_version=MODEL) == []

    Face.objects.filter(pk=face.pk).update(person=None)  # given away: the search names no one
    collections_changed(references=[face])
    assert search.nearest("mine", vector, k=1, engine=ENGINE, model_version=MODEL)[0].user_id == ""
    Face.objects.filter(pk=face.pk).update(is_reference=False)  # no longer enrolled: gone from the search
    collections_changed(references=[face])
    assert search.nearest("mine", vector, k=5, engine=ENGINE, model_version=MODEL) == []


def test_the_command_rebuilds_the_vectors_and_reports_them(settings):
    rng = np.random.default_rng(9)
    collection = Collection.objects.create(name="rebuilt")
    enrolled(collection, unit(rng.standard_normal((30, 128)).astype(np.float32)), [Person.objects.create()])
    face_vectors.uninstall()
    out = io.StringIO()
    call_command("face_vectors", stdout=out)
    assert "Face search: memory" in out.getvalue() and "--install" in out.getvalue()
    settings.FACESITE_FACE_SEARCH = {**settings.FACESITE_FACE_SEARCH, "BACKEND": "pgvector"}
    with pytest.raises(ImproperlyConfigured, match="face_vectors --install"):
        face_search()
    out = io.StringIO()
    call_command("face_vectors", stdout=out)  # the command that diagnoses it still answers
    assert "the engines will not start" in out.getvalue() and "face_vectors --install" in out.getvalue()

    out = io.StringIO()
    call_command("face_vectors", "--install", "--build-memory", "64MB", stdout=out)
    report = out.getvalue()
    assert "30 vectors written and indexed" in report
    assert "Face search: pgvector (FACESITE_FACE_SEARCH=pgvector)" in report
    assert f"rebuilt / {ENGINE} {MODEL}: 30 vectors, 30 faces" in report and "out of step" not in report
    assert isinstance(face_search(), PgvectorFaceSearch)
