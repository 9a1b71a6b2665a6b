"""Pages of rows read where the last page ended (``page_of_rows``): every row once, in order, however the
rows are filtered, and tokens that point only into the order they were given for."""

import pytest

from recognition.models import Collection
from rekognition_api.operations.pages import page_of_rows
from rekognition_api.protocol import AwsError
from videos.models import Video, VideoLabel

pytestmark = pytest.mark.django_db
SALT = "tests.pages"


@pytest.fixture
def rows():
    video = Video.objects.create(collection=Collection.get_default(), sample_rate=2.0, chunk_seconds=10)
    names = ["Dog", "Cat", "Tree", "Car", "Dog", "Sky"]  # Dog twice at one time: ties beyond (at, name)
    VideoLabel.objects.bulk_create(
        VideoLabel(video=video, at=i // 6 * 0.5, kind=VideoLabel.Kind.LABEL, name=names[i % 6], confidence=50 + i)
        for i in range(60)
    )  # fmt: skip
    return video.labels.all()


def every_page(rows, order, size, **options) -> tuple[list, int]:
    """Every row, walked a page of ``size`` at a time, and how many pages it took."""
    found, params, pages = [], {"MaxResults": size}, 0
    while True:
        chunk, more = page_of_rows(rows, order, params, default=1000, salt=SALT, **options)
        assert len(chunk) <= size
        found += chunk
        pages += 1
        if not more:
            return found, pages
        assert len(chunk) == size, "only the last page is short"
        params = {"MaxResults": size, "NextToken": more["NextToken"]}


@pytest.mark.parametrize("order", [("at", "name", "pk"), ("name", "at", "pk")])
def test_pages_hold_every_row_once_in_order(rows, order):
    whole = list(rows.order_by(*order))
    for size in (1, 7, 60, 100):
        found, pages = every_page(rows, order, size)
        assert found == whole and pages == max(1, -(-len(whole) // size))


def test_rows_not_wanted_are_passed_over_and_pages_stay_full(rows):
    wanted = [row for row in rows.order_by("at", "name", "pk") if row.name == "Sky"]
    found, pages = every_page(rows, ("at", "name", "pk"), 3, wanted=lambda row: row.name == "Sky")
    assert found == wanted and pages == 4, "10 Sky rows among 60, 3 a page, though a batch read holds few"
    assert every_page(rows, ("at", "name", "pk"), 5, wanted=lambda row: False) == ([], 1)


def test_a_token_points_only_into_its_own_order_and_cannot_be_forged(rows):
    _, more = page_of_rows(rows, ("at", "name", "pk"), {"MaxResults": 5}, default=1000, salt=SALT)
    for order, token, salt in [(("name", "at", "pk"), more["NextToken"], SALT),
                               (("at", "name", "pk"), more["NextToken"], "another job"),
                               (("at", "name", "pk"), more["NextToken"][:-2] + "xx", SALT),
                               (("at", "name", "pk"), "12", SALT)]:  # fmt: skip
        with pytest.raises(AwsError) as refused:
            page_of_rows(rows, order, {"NextToken": token}, default=1000, salt=salt)
        assert refused.value.error_type == "InvalidPaginationTokenException"
