"""manage.py import_people: folders and CSV files of people's photos, enrolled through the real service."""

from __future__ import annotations

import io
import shutil

import pytest
from django.core.management import CommandError, call_command

from recognition.models import AuditEvent, Collection, Face, Person
from recognition.services import bulk
from tests import images
from tests.images import FIXTURES

pytestmark = pytest.mark.django_db


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command("import_people", *map(str, args), stdout=out, **options)
    return out.getvalue()


def references(external_id: str) -> int:
    return Face.objects.references().filter(person__external_id=external_id).count()


@pytest.fixture
def people_folder(tmp_path):
    """Fixture photos as an operator would lay them out: a folder per badge."""
    root = tmp_path / "people"
    for badge, photos in {"B-44": ["obama.jpg", "obama2.jpg"], "B-46": ["biden.jpg"], "B-99": ["dog.jpg"]}.items():
        (root / badge).mkdir(parents=True)
        for photo in photos:
            shutil.copy(FIXTURES / photo, root / badge / photo)
    (root / "B-99" / "group.jpg").write_bytes(images.group_photo())
    (root / "B-99" / "notes.txt").write_text("not a photo, not read")
    (root / "B-46" / "broken.jpg").write_bytes((FIXTURES / "biden.jpg").read_bytes()[:2000])
    shutil.copy(FIXTURES / "obama3.jpg", root / "B-44-new.jpg")  # put beside the folders, not in one
    (root / "B-46" / ".DS_Store").write_bytes(b"Bud1")  # a Mac's own file, not the operator's
    (root / "B-46" / "._biden.jpg").write_bytes(b"\x00\x05\x16\x07")  # a Mac's note about biden.jpg, not a photo
    (root / ".thumbnails").mkdir()  # a viewer's own folder, not a person's
    shutil.copy(FIXTURES / "obama.jpg", root / ".thumbnails" / "B-44.jpg")
    return root


def test_a_folder_is_enrolled_and_a_run_interrupted_midway_continues_where_it_stopped(
    people_folder, settings, monkeypatch, media_root
):
    settings.RECOGNITION_ENGINE = {"BACKEND": "recognition.engines.local.LocalEngine", "OPTIONS": {}}
    real, calls = bulk.import_photo, []

    def interrupted_at_the_third(item, **kwargs):
        calls.append(item.photo)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C, or the machine going down
        return real(item, **kwargs)

    monkeypatch.setattr(bulk, "import_photo", interrupted_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        run(people_folder)
    assert references("B-44") == 2 and not Person.objects.filter(external_id="B-46").exists()
    monkeypatch.setattr(bulk, "import_photo", real)

    output = run(people_folder)
    assert references("B-44") == 2, "nothing enrolled twice"
    assert references("B-46") == 1 and Person.objects.get(external_id="B-46").name == "B-46"
    assert references("B-99") == 0, "a group photo and a dog are no reference photos"
    assert "enrolled           1" in output and "skipped            2" in output and "refused            3" in output
    assert "group.jpg: 3 faces were found; a reference photo must show exactly one person" in output
    assert "dog.jpg: No face was found" in output
    assert "broken.jpg" in output, "a truncated file is refused with the API's reason"
    assert "skipped            2  (already enrolled 2)" in output and "left out           2" in output
    assert "B-44-new.jpg: not in a person's own folder" in output, "a photo no import reads is named, not lost"
    assert "notes.txt: not a photo by its name" in output and ".DS_Store" not in output
    assert "._biden.jpg" not in output, "hidden files are passed over, as an image import passes them over"
    assert AuditEvent.objects.filter(action="person.enrol", details__via="import").count() == 3
    assert not Person.objects.filter(external_id=".thumbnails"), "a hidden folder is no person's, nor listed"


def test_a_dry_run_reads_everything_and_changes_nothing(tmp_path, media_root):
    root = tmp_path / "people"
    (root / "E-1").mkdir(parents=True)
    (root / "E-1" / "a.jpg").write_bytes(images.jpeg((96, 72), seed=1))
    output = run(root, dry_run=True)
    assert "Checking 1 photo of 1 person into 'default'" in output
    assert "would enrol        1" in output and "dry run" in output
    assert not Person.objects.exists() and not Face.objects.exists()


def test_a_csv_lists_paths_beside_it_and_urls_fetched_as_uploads_are(tmp_path, media_root, image_server, settings):
    (tmp_path / "a.jpg").write_bytes(images.jpeg((96, 72), seed=2))
    (tmp_path / "people.csv").write_text(
        "external_id,name,photo\n"
        "C-1,Ada Lovelace,a.jpg\n"
        f"C-2,Grace Hopper,{image_server.url_for('grace.jpg')}\n"
        "C-3,Alan Turing,missing.jpg\n"
    )
    output = run(tmp_path / "people.csv")
    assert references("C-1") == 1 and Person.objects.get(external_id="C-1").name == "Ada Lovelace"
    assert references("C-2") == 0 and "private" in output.lower(), "loopback is not fetched unless allowed"
    assert "missing.jpg: cannot be read: No such file or directory" in output

    settings.FACESITE_URL_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    output = run(tmp_path / "people.csv")
    assert references("C-2") == 1 and references("C-1") == 1
    assert "enrolled           1" in output and "skipped            1" in output


@pytest.mark.parametrize(
    "content",
    [
        "\ufeffname;external_id;department;photo\r\nAda Lovelace;C-1;Analytical;a.jpg\r\n",  # a spreadsheet's
        "photo\tname\texternal_id\na.jpg\tAda Lovelace\tC-1\n",
        " external_id , name , photo \nC-1,Ada Lovelace,a.jpg\n",
    ],
    ids=["semicolons, BOM, another column", "tabs, another order", "spaces around names"],
)
def test_a_csv_as_spreadsheets_save_it_is_read_by_its_header(tmp_path, media_root, content):
    (tmp_path / "a.jpg").write_bytes(images.jpeg((96, 72), seed=2))
    (tmp_path / "people.csv").write_text(content, encoding="utf-8")
    output = run(tmp_path / "people.csv")
    assert "enrolled           1" in output
    assert references("C-1") == 1 and Person.objects.get(external_id="C-1").name == "Ada Lovelace"


def test_a_csv_saved_in_windows_own_encoding_is_named_as_such_or_read_when_its_encoding_is_given(tmp_path, media_root):
    (tmp_path / "a.jpg").write_bytes(images.jpeg((96, 72), seed=3))
    (tmp_path / "people.csv").write_bytes("external_id;name;photo\r\nC-1;José García;a.jpg\r\n".encode("cp1252"))
    with pytest.raises(CommandError, match=r"people\.csv, line 2: not UTF-8 text \(byte 0xe9\)\. Save it as UTF-8"):
        run(tmp_path / "people.csv")
    assert not Person.objects.exists()
    with pytest.raises(CommandError, match="There is no encoding called 'latin-9000'"):
        run(tmp_path / "people.csv", encoding="latin-9000")

    assert "enrolled           1" in run(tmp_path / "people.csv", encoding="cp1252")
    assert Person.objects.get(external_id="C-1").name == "José García"


def test_a_csv_records_consent_so_that_enrolment_where_it_is_required_goes_ahead(tmp_path, media_root, settings):
    settings.FACESITE_ENROL_REQUIRES_CONSENT = True
    for seed, photo in enumerate(("a.jpg", "g.jpg", "k.jpg")):
        (tmp_path / photo).write_bytes(images.jpeg((96, 72), seed=20 + seed))
    Person.objects.create(external_id="C-3", name="Katherine Johnson")  # known already, no consent recorded
    (tmp_path / "people.csv").write_text(
        "external_id,name,photo,consent_given_at\n"
        "C-1,Ada Lovelace,a.jpg,2026-12-01\n"
        "C-2,Grace Hopper,g.jpg,\n"
        "C-3,Katherine Johnson,k.jpg,2026-12-02T09:30:00+01:00\n"
    )
    output = run(tmp_path / "people.csv")
    assert "enrolled           2" in output and "refused            1" in output and "no consent on record" in output
    assert [references(badge) for badge in ("C-1", "C-2", "C-3")] == [1, 0, 1]
    consent = dict(Person.objects.values_list("external_id", "consent_given_at"))
    assert consent["C-2"] is None
    assert consent["C-1"].isoformat() == "2026-12-01T00:00:00+00:00"  # the day's start in TIME_ZONE (UTC)
    assert consent["C-3"].isoformat() == "2026-12-02T08:30:00+00:00"
    updated = AuditEvent.objects.filter(action=AuditEvent.Action.PERSON_UPDATE, details__fields=["consent_given_at"])
    assert updated.count() == 1, "recorded for the person known before; the others were made with it"


def test_a_consent_that_is_not_a_date_stops_the_import(tmp_path):
    (tmp_path / "people.csv").write_text("external_id,name,photo,consent_given_at\nC-1,Ada,a.jpg,yes\n")
    with pytest.raises(CommandError, match=r"line 2: consent_given_at 'yes' is not a date"):
        run(tmp_path / "people.csv")


@pytest.mark.django_db(transaction=True)
def test_workers_enrol_in_parallel_without_making_anyone_twice(tmp_path, media_root):
    root = tmp_path / "people"
    for person, badge in enumerate(("W-1", "W-2", "W-3")):
        (root / badge).mkdir(parents=True)
        for photo in range(3):
            (root / badge / f"{photo}.jpg").write_bytes(images.jpeg((96, 72), seed=100 + 10 * person + photo))
    output = run(root, workers=3)
    assert "enrolled           9" in output
    assert Person.objects.count() == 3 and all(references(b) == 3 for b in ("W-1", "W-2", "W-3"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "badge,name,file\nX,Y,z.jpg\n",
            r"needs a header naming the columns external_id, name, photo; it has no "
            r"external_id, photo \(its header: badge,name,file\)",
        ),
        ("", r"it has no external_id, name, photo \(its header: empty\)"),
        ("external_id,name,photo\nX,,z.jpg\n", "line 2: external_id, name and photo are all needed"),
    ],
)
def test_a_csv_that_cannot_be_read_stops_the_import_before_anything_is_enrolled(tmp_path, content, message):
    (tmp_path / "people.csv").write_text(content)
    with pytest.raises(CommandError, match=message):
        run(tmp_path / "people.csv")
    assert not Person.objects.exists()


def test_a_missing_folder_or_collection_is_named(tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        run(tmp_path / "nowhere")
    with pytest.raises(CommandError, match="No collection is named 'lobby'"):
        run(tmp_path, collection="lobby")
    Collection.objects.create(name="lobby")
    assert "into 'lobby'" in run(tmp_path, collection="lobby")


def test_a_persons_folder_may_be_a_link_and_a_link_back_up_does_not_loop(tmp_path, media_root):
    share = tmp_path / "hr-share" / "B-50"  # kept elsewhere, linked into the import's folder
    share.mkdir(parents=True)
    shutil.copy(FIXTURES / "biden.jpg", share / "biden.jpg")
    root = tmp_path / "people"
    (root / "B-44").mkdir(parents=True)
    shutil.copy(FIXTURES / "obama.jpg", root / "B-44" / "obama.jpg")
    (root / "B-50").symlink_to(share, target_is_directory=True)
    (root / "B-44" / "up").symlink_to(root, target_is_directory=True)  # a loop, made by mistake

    output = run(root)
    assert "Enrolling 2 photos of 2 people" in output
    assert references("B-44") == 1 and references("B-50") == 1, "the linked folder's photo is enrolled"
    assert "left out           0" not in output and "up/" not in output, "the loop is read once, not followed"
