"""Tags on collections through boto3 (TagResource, UntagResource, ListTagsForResource, CreateCollection's Tags),
as infrastructure code sets and reads them back, against the live server."""

import pytest
from botocore.exceptions import ClientError

from backoffice import roles
from recognition.models import Collection
from rekognition_api.models import CollectionTag
from rekognition_api.tags import collection_tag
from tests.factories import UserFactory
from tests.rekognition_api.clients import REGION, client_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rekognition(shape_checked_client):
    return shape_checked_client(roles.ADMINISTRATOR)


def refused(call, **params) -> tuple[str, str]:
    with pytest.raises(ClientError) as error:
        call(**params)
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def test_tags_are_set_with_the_collection_changed_and_read_back(rekognition):
    made = rekognition.create_collection(CollectionId="door", Tags={"team": "security", "cost centre": "4-12"})
    arn = made["CollectionArn"]
    assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "security", "cost centre": "4-12"}

    full = f"arn:aws:rekognition:{REGION}:123456789012:collection/door"  # as Terraform writes it
    rekognition.tag_resource(ResourceArn=full, Tags={"team": "facilities", "site": "Gent/Nord"})
    rekognition.untag_resource(ResourceArn=full, TagKeys=["cost centre", "never set"])
    assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "facilities", "site": "Gent/Nord"}

    rekognition.create_collection(CollectionId="lobby")
    assert rekognition.list_tags_for_resource(ResourceArn=arn.replace("door", "lobby"))["Tags"] == {}
    rekognition.delete_collection(CollectionId="door")
    rekognition.create_collection(CollectionId="door")
    assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {}, "a new collection, with no old tags"


def test_tags_rekognition_would_refuse_are_refused_and_change_nothing(rekognition):
    code, message = refused(rekognition.create_collection, CollectionId="door", Tags={"aws:owner": "me"})
    assert code == "InvalidParameterException" and "aws:" in message
    assert rekognition.list_collections()["CollectionIds"] == [], "no collection made with a tag refused"

    arn = rekognition.create_collection(CollectionId="door", Tags={"team": "security"})["CollectionArn"]
    assert refused(rekognition.tag_resource, ResourceArn=arn, Tags={"team": "x", "bad<key>": "v"})[0] == (
        "InvalidParameterException"
    )
    assert refused(rekognition.tag_resource, ResourceArn=arn, Tags={"note": "semi;colon"})[0] == (
        "InvalidParameterException"
    )
    code, message = refused(rekognition.tag_resource, ResourceArn=arn, Tags={f"k{i}": "" for i in range(50)})
    assert code == "ServiceQuotaExceededException" and "51" in message and "50" in message
    rekognition.tag_resource(ResourceArn=arn, Tags={f"k{i}": "" for i in range(49)})  # 50 in all
    assert len(rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"]) == 50
    assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"]["team"] == "security", "none refused was set"

    assert refused(rekognition.list_tags_for_resource, ResourceArn=arn.replace("door", "nowhere"))[0] == (
        "ResourceNotFoundException"
    )
    project = f"arn:aws:rekognition:{REGION}:123456789012:project/shelves/1700000000000"
    code, message = refused(rekognition.tag_resource, ResourceArn=project, Tags={"a": "b"})
    assert code == "ResourceNotFoundException" and "not a collection" in message
    assert refused(rekognition.list_tags_for_resource, ResourceArn="not an arn at all, clearly")[0] == (
        "InvalidParameterException"
    )


def test_reading_tags_needs_sight_of_collections_and_changing_them_more(live_server, rekognition):
    arn = rekognition.create_collection(CollectionId="door", Tags={"team": "security"})["CollectionArn"]
    reviewer = client_for(live_server, UserFactory(role=roles.REVIEWER))
    assert reviewer.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "security"}
    code, message = refused(reviewer.tag_resource, ResourceArn=arn, Tags={"team": "mine"})
    assert code == "AccessDeniedException" and "recognition.change_collection" in message
    assert refused(reviewer.untag_resource, ResourceArn=arn, TagKeys=["team"])[0] == "AccessDeniedException"
    assert rekognition.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "security"}


def test_a_collection_deleted_while_it_is_tagged_is_not_found_and_nothing_is_left():
    gone = Collection.objects.create(name="gone")
    Collection.objects.filter(pk=gone.pk).delete()  # by another request, after this one found it
    with pytest.raises(Collection.DoesNotExist):
        collection_tag(gone, {"team": "security"})
    assert not CollectionTag.objects.exists()
