"""The services on the Rekognition engine: enrolment as users, identification, retries and permanent
failures, deletions reaching AWS, a lost collection rebuilt, and re-indexing into another engine."""

from __future__ import annotations

import io
import uuid

import pytest
from botocore.stub import ANY
from django.core.management import call_command
from django.core.management.base import CommandError

from recognition.models import AuditEvent, Face, Image
from recognition.services.analysis import AnalysisRetry, image_analyse
from recognition.services.erasure import person_erase, reference_face_remove
from recognition.services.files import s3_location
from recognition.services.ingest import image_ingest
from recognition.services.matching import faces_search
from recognition.services.people import person_enroll
from tests import aws, images
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def photo(seed: int = 1) -> bytes:
    return images.jpeg((200, 240), seed=seed)


def test_enrolment_indexes_the_face_under_the_row_id_and_gives_it_to_the_persons_user(rekognition):
    person = PersonFactory()
    face_id = str(uuid.uuid4())
    rekognition.create_collection()
    rekognition.detect_faces()
    external_ids = []

    class Capture:
        def __eq__(self, other):
            external_ids.append(other)
            return True

    rekognition.answer(
        "index_faces",
        {"FaceRecords": [{"Face": {"FaceId": face_id}, "FaceDetail": aws.face_detail()}]},
        {"CollectionId": "test-default", "Image": ANY, "ExternalImageId": Capture(),
         "DetectionAttributes": ["DEFAULT"], "MaxFaces": 1, "QualityFilter": "AUTO"},
    )  # fmt: skip
    rekognition.associate(person, face_id)

    row = person_enroll(person=person, data=photo())

    assert row.engine == "rekognition" and row.model_version == "7.0"
    assert row.engine_face_id == face_id and external_ids == [str(row.pk)]
    assert row.get_embedding() is None  # the vector stays with AWS


def test_a_second_photo_of_the_same_person_joins_their_user(rekognition):
    person = PersonFactory()
    rekognition.enrol(person)
    person_enroll(person=person, data=photo(1))
    rekognition.enrol(person, user_exists=True)
    person_enroll(person=person, data=photo(2))
    assert Face.objects.references().filter(person=person).count() == 2


def test_an_enrolment_aws_refuses_is_a_clear_error_and_leaves_nothing(rekognition, api_client):
    person = PersonFactory()
    rekognition.create_collection()
    rekognition.detect_faces()
    rekognition.answer("index_faces", {"FaceRecords": [], "UnindexedFaces": [{"Reasons": ["EXTREME_POSE"]}]})
    response = api_client.post(f"/api/people/{person.pk}/faces/", {"file": images.upload_file(photo())})
    assert response.status_code == 422 and response.json()["code"] == "extreme_pose"
    assert not Face.objects.exists() and not Image.objects.exists()


def test_analysis_identifies_people_through_their_users(rekognition):
    known, doubtful = PersonFactory(), PersonFactory()
    for person in (known, doubtful):
        rekognition.enrol(person, user_exists=False)
        person_enroll(person=person, data=photo(hash(person.pk) % 100))
    image = image_ingest(data=photo(7))
    rekognition.analyse(faces=2, matches=[[(known, 97.5)], [(doubtful, 70.0)]])

    image = image_analyse(image_id=image.pk)

    identified, to_review = image.faces.order_by("-similarity")
    assert (identified.person, identified.similarity) == (known, 97.5)
    assert (to_review.person, to_review.candidate, to_review.review_state) == (None, doubtful, "needs_review")
    assert identified.attributes["Gender"]["Value"] == "Male" and identified.attributes["EyeDirection"]
    assert image.engine == "rekognition"
    assert [label.name for label in image.labels.all()] == ["Person", "Face"]


def test_throttling_twice_then_success_is_retried_and_done_once(rekognition):
    image = image_ingest(data=photo())
    for _ in range(2):
        rekognition.fail("detect_labels", "ThrottlingException", "Rate exceeded")
        with pytest.raises(AnalysisRetry):
            image_analyse(image_id=image.pk)
        image.refresh_from_db()
        assert image.status == Image.Status.PENDING and "Rate exceeded" in image.error
    rekognition.analyse()
    image = image_analyse(image_id=image.pk)
    assert image.status == Image.Status.DONE and image.attempts == 3 and image.error == ""
    assert image.faces.count() == 1 and image.labels.count() == 2


@pytest.mark.parametrize(
    ("aws_code", "cause"),
    [
        ("InvalidImageFormatException", "cannot read this image format"),
        ("ImageTooLargeException", "too large for Amazon Rekognition"),
        ("InvalidParameterException", "rejected a parameter"),
        ("AccessDeniedException", "may not use Amazon Rekognition"),
        ("InvalidS3ObjectException", "cannot read the image from S3"),
    ],
)
def test_permanent_errors_fail_the_image_with_their_cause_and_are_not_retried(rekognition, aws_code, cause):
    image = image_ingest(data=photo())
    rekognition.fail("detect_labels", aws_code, "details from AWS")
    assert image_analyse(image_id=image.pk) is None  # no AnalysisRetry: the task does not retry
    image.refresh_from_db()
    assert image.status == Image.Status.FAILED and image.attempts == 1
    assert cause in image.error and aws_code in image.error and "details from AWS" in image.error


def test_erasing_a_person_deletes_exactly_their_user_and_faces(rekognition):
    person, other = PersonFactory(), PersonFactory()
    face_ids = []
    for seed in (1, 2):
        face_ids.append(rekognition.enrol(person, user_exists=seed == 2))
        person_enroll(person=person, data=photo(seed))
    rekognition.enrol(other)
    person_enroll(person=other, data=photo(3))
    person_id = str(person.pk)
    rekognition.answer("delete_user", {}, {"CollectionId": "test-default", "UserId": person_id})
    rekognition.answer(
        "delete_faces", {"DeletedFaces": face_ids}, {"CollectionId": "test-default", "FaceIds": sorted(face_ids)}
    )
    person_erase(person=person)
    assert list(Face.objects.references().values_list("person", flat=True)) == [other.pk]


def test_removing_one_reference_face_takes_it_from_the_user_first(rekognition):
    person = PersonFactory()
    face_id = rekognition.enrol(person)
    face = person_enroll(person=person, data=photo())
    expected = {"CollectionId": "test-default", "UserId": str(person.pk), "FaceIds": [face_id]}
    rekognition.answer("disassociate_faces", {"DisassociatedFaces": [{"FaceId": face_id}]}, expected)
    rekognition.answer("delete_faces", {"DeletedFaces": [face_id]}, {"CollectionId": "test-default",
                                                                     "FaceIds": [face_id]})  # fmt: skip
    reference_face_remove(face=face)
    assert not Face.objects.exists()


def test_a_collection_lost_on_aws_is_rebuilt_from_the_database_before_searching(rekognition):
    person = PersonFactory()
    old_id = rekognition.enrol(person)
    reference = person_enroll(person=person, data=photo(1))
    probe = photo(2)
    rekognition.detect_faces()
    rekognition.fail(
        "search_users_by_image", "ResourceNotFoundException", "The collection id: test-default does not exist"
    )
    # The rebuild: the collection again, the reference face indexed from its stored photo, the user again.
    rekognition.create_collection()
    new_id = str(uuid.uuid4())
    rekognition.index_faces(new_id)
    rekognition.associate(person, new_id)
    rekognition.search_users([(person, 99.0)], threshold=80.0, max_users=5)

    [found] = faces_search(data=probe, collection=reference.collection, threshold=80.0, max_matches=5)

    assert found.matches[0].person == person
    reference.refresh_from_db()
    assert reference.engine_face_id == new_id != old_id
    assert AuditEvent.objects.filter(action="collection.reindex", details__indexed=1).exists()


def test_reindex_moves_every_reference_face_into_another_engine_and_resumes(settings, rekognition):
    # Enrolled with the local kind of engine (the tests' fake one), then moved to Rekognition.
    settings.RECOGNITION_ENGINE = {"BACKEND": "recognition.engines.fake.FakeEngine", "OPTIONS": {}}
    people = [PersonFactory() for _ in range(2)]
    for i, person in enumerate(people):
        person_enroll(person=person, data=photo(i))
    rekognition.create_collection()
    first = str(uuid.uuid4())
    rekognition.index_faces(first)
    rekognition.associate(people[0], first)
    rekognition.fail("index_faces", "ThrottlingException", "Rate exceeded")

    with pytest.raises(CommandError, match="Run the command again"):
        call_command("reindex", engine="rekognition", stdout=io.StringIO())

    second = str(uuid.uuid4())
    rekognition.fail("create_collection", "ResourceAlreadyExistsException", "exists")  # each run makes sure
    rekognition.index_faces(second)
    rekognition.associate(people[1], second)
    from io import StringIO

    out = StringIO()
    call_command("reindex", engine="rekognition", stdout=out)
    assert "1 reference faces to index" in out.getvalue() and "1 indexed, 1 already there, 0 failed" in out.getvalue()
    rows = Face.objects.references().order_by("created_at")
    assert [(f.engine, f.engine_face_id) for f in rows] == [("rekognition", first), ("rekognition", second)]

    again = StringIO()
    call_command("reindex", engine="rekognition", stdout=again)  # nothing left: no AWS call at all
    assert "0 reference faces to index" in again.getvalue()


def test_reindex_refuses_unknown_engines_and_collections(db):
    with pytest.raises(CommandError, match="No engine is called 'nope'"):
        call_command("reindex", engine="nope")
    with pytest.raises(CommandError, match="No collection is named 'nope'"):
        call_command("reindex", collection="nope")


def test_s3_location_of_images_stored_in_s3(settings):
    from storages.backends.s3 import S3Storage

    image = image_ingest(data=photo())
    assert s3_location(image=image) is None  # local files
    storage = S3Storage(bucket_name="photos", region_name="eu-west-1", location="media")
    image.file.storage = storage
    location = s3_location(image=image)
    assert (location.bucket, location.region) == ("photos", "eu-west-1")
    assert location.key == f"media/{image.file.name}"
