"""A file stored for work that is then undone is deleted even when the storage refuses at first, and the
fault that undid the work is the one reported, not the refusal."""

import io

import pytest
from django.core.files.storage import FileSystemStorage

from recognition.exceptions import StorageUnavailable
from recognition.models import Image
from recognition.services import files, thumbnails
from tests import images
from tests.helpers import wait_for
from tests.system.test_fault_drills import stored_files


@pytest.fixture
def deletes_refused(media_root, monkeypatch, celery_worker):
    """The storage refuses every deletion (an S3 policy, a sticky directory) until ``allow()``; a real worker
    runs the ``delete_files`` task that tries again, its first wait shortened to 1 s."""
    refused: list[str] = []
    real_delete = FileSystemStorage.delete

    def refuse(storage, name):
        refused.append(name)
        raise PermissionError(13, "Permission denied", name)

    monkeypatch.setattr(files, "DELETE_AGAIN_SECONDS", 1)
    monkeypatch.setattr(FileSystemStorage, "delete", refuse)
    yield lambda: monkeypatch.setattr(FileSystemStorage, "delete", real_delete)
    assert refused, "the storage was asked to delete something"


class RowRefused(Exception):
    pass


def test_an_upload_undone_after_its_file_was_stored_reports_its_own_fault(media_root, deletes_refused):
    image = Image()
    with pytest.raises(RowRefused), files.stored_file(image=image, data=b"photo", extension="jpg"):
        raise RowRefused("the row could not be written")  # not the storage's PermissionError
    assert stored_files(media_root) == {image.file.name}, "left while the storage refuses"

    deletes_refused()
    wait_for(lambda: not stored_files(media_root), timeout=20)


def test_a_second_copy_of_a_cached_crop_goes_once_the_storage_deletes_again(media_root, deletes_refused):
    thumbnails.store_once("thumbs/faces/x-112.jpg", b"first")
    thumbnails.store_once("thumbs/faces/x-112.jpg", b"second, made at the same time")  # no error for a cache
    assert len(stored_files(media_root)) == 2

    deletes_refused()
    wait_for(lambda: stored_files(media_root) == {"thumbs/faces/x-112.jpg"}, timeout=20)


def test_frames_kept_before_the_disk_filled_go_once_the_storage_deletes_again(media_root, deletes_refused, monkeypatch):
    from tests.clips import video
    from videos.analysis import _keep_frames
    from videos.services import video_upload
    from videos.tracking import Track

    uploaded = video_upload(file=io.BytesIO(video([("obama.jpg", 1.0)], size=(160, 120))), filename="door.mp4")
    before = stored_files(media_root)
    real_save = FileSystemStorage._save

    def full_after_one(storage, name, content):
        if name.startswith("videos/frames/") and any(n.startswith("videos/frames/") for n in stored_files(media_root)):
            raise OSError(28, "No space left on device")
        return real_save(storage, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", full_after_one)
    tracks = [(Track(), images.jpeg((80, 60), seed=n)) for n in range(3)]
    with pytest.raises(StorageUnavailable, match="No space left"):
        _keep_frames(uploaded, 0, tracks)
    assert len(stored_files(media_root) - before) == 1, "the first frame, left while the storage refuses"

    deletes_refused()
    wait_for(lambda: stored_files(media_root) == before, timeout=20)
