"""Threshold calibration from labelled pairs: enrolled people and labelled folders scored by the real local
engine on real photos, review decisions, the audited threshold change, and the admin page."""

import base64
import re
import shutil

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from backoffice import roles
from recognition.engine_handler import get_engine
from recognition.exceptions import NotAllowed
from recognition.models import AuditEvent, CalibrationPair, Collection, Face
from recognition.services.analysis import image_analyse
from recognition.services.calibration import calibration_report, collection_threshold_set
from recognition.services.ingest import image_ingest
from recognition.services.people import person_enroll
from recognition.services.review import face_review_confirm, face_review_reject
from tests import images
from tests.factories import PersonFactory, UserFactory
from tests.images import FIXTURES

pytestmark = pytest.mark.django_db

PEOPLE = {"obama": ["obama.jpg", "obama2.jpg", "obama3.jpg"], "biden": ["biden.jpg"], "collins": ["astronaut.png"]}


def staff(role: str) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, role=role))
    return client


def enrol_fixtures() -> None:
    for name, photos in PEOPLE.items():
        person = PersonFactory(name=name)
        for photo in photos:
            person_enroll(person=person, data=(FIXTURES / photo).read_bytes())


def test_genuine_pairs_of_real_photos_score_above_impostor_pairs(local_engine):
    enrol_fixtures()
    report = calibration_report(collection=Collection.get_default())
    genuine, impostor = report.scores.genuine["enrolled"], report.scores.impostor["enrolled"]
    assert len(genuine) == 3  # Obama's three photos, two by two
    assert len(impostor) == 3 * 1 + 3 * 1 + 1 * 1
    assert min(genuine) > max(impostor)
    assert report.calibration.equal_error_rate == 0.0
    # Seven impostor pairs cannot show a false-match rate of 0.1 %, and the page says so.
    assert any("rule of three" in w and "3000" in w for w in report.warnings)


def test_review_decisions_are_pairs_at_the_similarity_they_were_matched_with():
    engine = get_engine()
    obama, biden = PersonFactory(name="Obama"), PersonFactory(name="Biden")
    reviewer = UserFactory(role=roles.REVIEWER)
    image = image_ingest(data=images.jpeg((160, 120), seed=7))

    def face(similarity, model_version=engine.model_version):
        return Face.objects.create(
            image=image, left=0.1, top=0.1, width=0.2, height=0.2, confidence=99, candidate=obama,
            similarity=similarity, review_state=Face.Review.NEEDS_REVIEW, engine=engine.name,
            model_version=model_version,
        )  # fmt: skip

    face_review_confirm(face=face(75.0), reviewer=reviewer)  # genuine
    face_review_confirm(face=face(70.0), reviewer=reviewer, person=biden)  # reassigned: not the candidate
    face_review_reject(face=face(65.0), reviewer=reviewer)  # impostor
    face(62.0)  # not decided yet
    face_review_confirm(face=face(90.0, model_version="older"), reviewer=reviewer)  # another model's score

    scores = calibration_report(collection=image.collection).scores
    assert scores.genuine["review"] == [75.0]
    assert sorted(scores.impostor["review"]) == [65.0, 70.0]


def test_labelled_folder_is_scored_into_pairs_with_its_groups(local_engine, tmp_path, capsys):
    folder = tmp_path / "labelled"
    for group, name in [("adults", "obama"), ("adults", "biden"), ("others", "collins")]:
        (folder / group / name).mkdir(parents=True)
        for photo in PEOPLE[name]:
            shutil.copy(FIXTURES / photo, folder / group / name / photo)
    (folder / "others" / "rex").mkdir()
    shutil.copy(FIXTURES / "dog.jpg", folder / "others" / "rex" / "dog.jpg")
    shutil.copy(FIXTURES / "obama.jpg", folder / "adults" / "loose.jpg")  # in a group, but in no one's folder
    (folder / "others" / "rex" / "notes.txt").write_text("a good boy")
    (folder / "adults" / ".thumbnails").mkdir()  # a viewer's copies: no person, so no impostor pairs with them
    shutil.copy(FIXTURES / "biden.jpg", folder / "adults" / ".thumbnails" / "obama.jpg")
    svg = tmp_path / "calibration.svg"

    call_command("calibrate", "--add-folder", str(folder), "--collection", "default", "--svg", str(svg))
    call_command("calibrate", "--add-folder", str(folder), "--collection", "default")  # replaces, adds nothing

    out = capsys.readouterr().out
    assert "others/rex/dog.jpg: no face found" in out
    assert "5 photos of 3 people: 3 genuine and 7 impostor pairs stored; 1 photo skipped." in out
    assert "2 files of the folder were not read:" in out
    assert "adults/loose.jpg: not in a person's folder" in out and "rex/notes.txt: not a photo by its name" in out
    assert "false-match rate" in out and "Equal error" in out
    pairs = CalibrationPair.objects.filter(collection__name="default")
    assert pairs.filter(genuine=True).count() == 3 and pairs.filter(genuine=False).count() == 7
    assert set(pairs.filter(genuine=True).values_list("group", flat=True)) == {"adults"}
    assert pairs.filter(genuine=False, group="adults").count() == 3  # Obama's three photos with Biden's
    assert max(pairs.filter(genuine=False).values_list("score", flat=True)) < min(
        pairs.filter(genuine=True).values_list("score", flat=True)
    )
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CALIBRATION_PAIRS_ADD).count() == 2
    picture = svg.read_text()
    assert picture.startswith("<?xml") and "<svg" in picture and 'href="http' not in picture  # nothing fetched
    report = calibration_report(collection=Collection.get_default())
    assert [g.name for g in report.groups] == ["adults"]


def test_a_group_with_more_false_matches_is_named():
    collection = Collection.get_default()
    engine = get_engine()

    def pairs(group, genuine, scores):
        CalibrationPair.objects.bulk_create(
            CalibrationPair(collection=collection, genuine=genuine, score=s, group=group, engine=engine.name,
                            model_version=engine.model_version)
            for s in scores
        )  # fmt: skip

    for group in ("adults", "children"):
        pairs(group, True, [95.0] * 50)
    pairs("adults", False, [30.0] * 200)
    pairs("children", False, [30.0] * 100 + [70.0] * 100)  # look-alikes: half of them match at 70

    report = calibration_report(collection=collection, target_fmr=0.3)
    assert report.calibration.suggested.threshold == 50  # 100 of 400 impostor pairs: 25 %
    children = next(g for g in report.groups if g.name == "children")
    assert (children.row.fmr.errors, children.row.fmr.trials) == (100, 200)
    named = [w for w in report.warnings if "'children'" in w]
    assert len(named) == 1 and "false-match" in named[0]
    assert not any("'adults'" in w for w in report.warnings)


def test_a_threshold_set_for_a_collection_is_audited_and_used_by_analysis(local_engine):
    obama = PersonFactory(name="Barack Obama")
    person_enroll(person=obama, data=(FIXTURES / "obama.jpg").read_bytes())
    collection = Collection.get_default()
    administrator = UserFactory(role=roles.ADMINISTRATOR)

    with pytest.raises(NotAllowed):
        collection_threshold_set(collection=collection, threshold=99.0, actor=UserFactory(role=roles.REVIEWER))
    collection_threshold_set(collection=collection, threshold=99.0, actor=administrator)

    strict = image_analyse(image_id=image_ingest(data=(FIXTURES / "obama2.jpg").read_bytes()).pk).faces.get()
    assert strict.person is None and strict.candidate == obama  # below 99: to the review queue
    assert strict.review_state == Face.Review.NEEDS_REVIEW

    collection_threshold_set(collection=collection, threshold=None, actor=administrator)  # the setting again
    again = image_analyse(image_id=image_ingest(data=(FIXTURES / "obama3.jpg").read_bytes()).pk).faces.get()
    assert again.person == obama

    events = AuditEvent.objects.filter(action=AuditEvent.Action.COLLECTION_THRESHOLD).order_by("created_at")
    assert [(e.details["before"], e.details["after"], e.actor) for e in events] == [
        (None, 99.0, administrator),
        (99.0, None, administrator),
    ]
    assert events[1].details["effective"] == 80.0


def test_calibration_page_shows_the_picture_to_administrators_and_applies_a_threshold(local_engine):
    enrol_fixtures()
    collection = Collection.get_default()
    page_url = reverse("admin:recognition_collection_calibration") + f"?collection={collection.pk}"
    administrator = staff(roles.ADMINISTRATOR)

    page = administrator.get(page_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="calibration-picture"' in html and 'id="calibration-table"' in html
    assert "rule of three" in html
    inline = re.search(r'id="calibration-picture" src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert inline and b"<svg" in base64.b64decode(inline.group(1)), "the picture comes in the page, not computed twice"
    picture = administrator.get(
        reverse("admin:recognition_collection_calibration_svg") + f"?collection={collection.pk}"
    )
    assert picture["Content-Type"] == "image/svg+xml" and b"<svg" in picture.content
    assert administrator.get(reverse("admin:recognition_collection_calibration")).status_code == 200  # overall

    applied = administrator.post(reverse("admin:recognition_collection_threshold", args=[collection.pk]),
                                 {"threshold": "72.5"})  # fmt: skip
    assert applied.status_code == 302
    collection.refresh_from_db()
    assert collection.match_threshold == 72.5
    assert AuditEvent.objects.filter(action=AuditEvent.Action.COLLECTION_THRESHOLD, object_id=str(collection.pk))


def test_calibration_is_forbidden_to_reviewers():
    collection = Collection.get_default()
    reviewer = staff(roles.REVIEWER)
    assert reviewer.get(reverse("admin:recognition_collection_calibration")).status_code == 403
    assert reviewer.get(reverse("admin:recognition_collection_calibration_svg")).status_code == 403
    refused = reviewer.post(reverse("admin:recognition_collection_threshold", args=[collection.pk]), {"threshold": 50})
    assert refused.status_code == 403
    collection.refresh_from_db()
    assert collection.match_threshold is None
