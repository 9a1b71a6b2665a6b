"""Face search that stays fast as collections grow, on both kinds of search (the ``face_search`` fixture):
a badge check reads only the badge holder's faces; an enrolment or a removal is seen by the next search in
every process without reloading the collection; two models' embeddings never meet."""

from __future__ import annotations

import pytest

from recognition.engine_handler import get_engine
from recognition.services.matching import person_verify
from recognition.services.people import person_enroll
from tests import images
from tests.factories import PersonFactory

pytestmark = [pytest.mark.django_db, pytest.mark.face_search]


def loads(face_search: str, memory: int) -> int:
    """How many whole-collection loads to expect: the memory index's, none at all for pgvector."""
    return memory if face_search == "memory" else 0


def test_a_badge_check_never_loads_the_collection(face_search):
    holder = PersonFactory(external_id="B-1")
    photo = images.jpeg((200, 150), seed=1)
    person_enroll(person=holder, data=photo)
    for seed in range(2, 12):
        person_enroll(person=PersonFactory(), data=images.jpeg((200, 150), seed=seed))
    engine = get_engine()

    verification = person_verify(external_id="B-1", data=photo, threshold=80)
    assert verification.outcome == "match" and verification.similarity == pytest.approx(100.0)
    assert engine.face_search.full_loads == 0, "no per-process copy of the collection was built"

    stranger = person_verify(external_id="B-1", data=images.jpeg((200, 150), seed=5), threshold=80)
    assert stranger.outcome == "no_match"
    assert engine.face_search.full_loads == 0


def vectors_installed() -> bool:
    from recognition import face_vectors

    return face_vectors.installed()


def stored_vectors() -> set:
    """The people whose embeddings have a pgvector vector (none where there is no vector column)."""
    from django.db import connection

    from recognition import face_vectors

    if not face_vectors.installed():
        return set()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT person_id FROM recognition_face WHERE {face_vectors.COLUMN} IS NOT NULL")
        return {row[0] for row in cursor.fetchall()}


def _search(photo: bytes):
    from recognition.models import Collection
    from recognition.services.matching import faces_search

    [found] = faces_search(data=photo, collection=Collection.get_default(), threshold=80, max_matches=3)
    return [m.person for m in found.matches]


def test_after_an_enrolment_or_a_removal_only_the_faces_touched_are_read(face_search):
    from recognition.services.erasure import reference_face_remove

    first = PersonFactory()
    photo = images.jpeg((200, 150), seed=21)
    person_enroll(person=first, data=photo)
    search = get_engine().face_search
    assert _search(photo) == [first] and search.full_loads == loads(face_search, 1)

    second = PersonFactory()
    other = images.jpeg((200, 150), seed=22)
    face = person_enroll(person=second, data=other)
    assert _search(other) == [second], "the new face is found at once"
    person_enroll(person=second, data=photo)  # a second reference, very like the first person's
    assert set(_search(photo)) == {first, second}
    reference_face_remove(face=face)
    assert _search(other) == []
    from recognition.services.erasure import person_erase

    person_erase(person=first)
    assert _search(photo) == [second], "an erased person's vectors are gone from the index"
    assert search.full_loads == loads(face_search, 1), "caught up from the change log, never reloaded"
    assert stored_vectors() == (set() if face_search == "memory" and not vectors_installed() else {second.pk})


@pytest.mark.django_db(transaction=True)
def test_an_enrolment_in_another_process_is_found_without_a_reload(media_root, face_search):
    import subprocess
    import sys

    from tests.workers import ROOT, child_env

    photo = images.jpeg((200, 150), seed=31)
    person_enroll(person=PersonFactory(), data=images.jpeg((200, 150), seed=32))
    search = get_engine().face_search
    assert _search(photo) == [] and search.full_loads == loads(face_search, 1)

    newcomer = PersonFactory(name="Newcomer")
    path = media_root / "probe.jpg"
    path.write_bytes(photo)
    script = (
        "from recognition.models import Person; from recognition.services.people import person_enroll; "
        f"person_enroll(person=Person.objects.get(pk='{newcomer.pk}'), data=open('{path}', 'rb').read())"
    )
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, capture_output=True,
                          text=True, env=child_env(media_root=media_root), timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _search(photo) == [newcomer]
    assert search.full_loads == loads(face_search, 1)


def test_the_exact_index_absorbs_additions_and_removals_and_compacts():
    import numpy as np

    from recognition.engines.index import ExactFaceIndex

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((40, 16)).astype(np.float32)
    ids = [f"f{i}" for i in range(40)]
    index = ExactFaceIndex(ids[:20], vectors[:20], {i: "u" for i in ids[:20]})
    before = index.search(vectors[3], k=1)
    index.apply(set(), ids[20:], ["v"] * 20, vectors[20:])  # grows past its capacity
    assert len(index) == 40 and index.search(vectors[33], k=1)[0][0] == "f33"
    assert index.search(vectors[3], k=1) == before
    index.apply({f"f{i}" for i in range(0, 40, 3)}, [], [], np.zeros((0, 16), np.float32))  # a third: compacts
    assert len(index) == 40 - 14 and index._view.dead == 0
    assert index.search(vectors[3], k=1)[0][0] != "f3" and index.search(vectors[4], k=1)[0][0] == "f4"
    index.apply({"f4"}, ["f4"], ["w"], vectors[5:6])  # a changed face: its new row replaces the old
    assert index.search(vectors[5], k=2)[0][0] in {"f4", "f5"} and index.owners["f4"] == "w"
    assert all(face_id not in {f"f{i}" for i in range(0, 40, 3)} for face_id, _ in index.search(vectors[0], k=40))


def test_a_pruned_change_log_makes_a_lagging_index_reload_rather_than_miss_faces(settings):
    from datetime import timedelta

    from recognition.models import ReferenceChange
    from recognition.services.collections import reference_changes_prune

    settings.FACESITE_FACE_SEARCH = {**settings.FACESITE_FACE_SEARCH, "BACKEND": "memory"}  # the change log's
    photo = images.jpeg((200, 150), seed=41)
    person_enroll(person=PersonFactory(), data=images.jpeg((200, 150), seed=42))
    indexes = get_engine().face_search
    assert _search(photo) == [] and indexes.full_loads == 1
    late = PersonFactory()
    person_enroll(person=late, data=photo)  # logged, but this index has not caught up yet
    assert reference_changes_prune(older_than=timedelta(0)) >= 2
    assert not ReferenceChange.objects.exists()
    assert _search(photo) == [late], "the index reloads: the change it missed is not lost"
    assert indexes.full_loads == 2
    assert reference_changes_prune(older_than=timedelta(days=1)) == 0, "recent changes are kept"


def test_a_new_model_version_never_meets_the_old_ones_embeddings(face_search, monkeypatch):
    from recognition.engines.fake import FakeEngine

    photo = images.jpeg((200, 150), seed=51)
    before = PersonFactory(external_id="B-51")
    person_enroll(person=before, data=photo)
    assert _search(photo) == [before]

    monkeypatch.setattr(FakeEngine, "model_version", "2")  # a new model: the stored embeddings are not its own
    assert _search(photo) == [], "the old model's embedding is not compared with the new model's"
    assert person_verify(external_id="B-51", data=photo, threshold=80).outcome == "no_reference"
    after = PersonFactory()
    person_enroll(person=after, data=photo)  # enrolled again under the new model
    assert _search(photo) == [after]
    monkeypatch.setattr(FakeEngine, "model_version", "1")
    assert _search(photo) == [before], "and the old model still finds only its own"
