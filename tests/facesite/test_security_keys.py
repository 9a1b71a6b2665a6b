"""Security keys and passkeys for the back office's second step, through its pages and a key in software
that signs as a real one does (``tests.security_key``): added after the code, used instead of it next time,
and refused when the answer comes from another site, is replayed, comes from a copied key or another user's."""

import pytest
from django.test import Client
from django.utils.html import strip_tags

from backoffice import security_keys
from backoffice.models import SecurityKey
from backoffice.two_step import two_step_reset
from recognition.admin.activity import sentences
from recognition.models import AuditEvent
from tests.factories import UserFactory
from tests.security_key import SoftwareKey
from tests.two_step import ORIGIN, key_added, key_answer, key_options, second_steps, set_up, signed_in, user_with_key


@pytest.fixture(autouse=True)
def required(settings):
    settings.FACESITE_TWO_STEP_REQUIRED = True


@pytest.mark.django_db
def test_a_key_added_after_the_code_passes_the_second_step_next_time():
    user, key = UserFactory(is_staff=True), SoftwareKey()
    client, _ = signed_in(user)
    set_up(client)
    overview = client.get("/admin/two-step/settings/").content.decode()
    assert "You have no security key yet." in overview and "You have 10 unused recovery codes." in overview
    assert 'href="/admin/two-step/settings/">Two-step sign-in</a>' in overview, "the link at the top right"

    assert key_added(client, key, name="  Blue   key ") == {"next": "/admin/two-step/settings/"}
    stored = SecurityKey.objects.get(user=user)
    assert (stored.name, stored.credential_id, stored.sign_count) == ("Blue key", key.id, 0)
    page = client.get("/admin/two-step/settings/").content.decode()
    assert "Blue key" in page and "is added" in page
    added = AuditEvent.objects.get(action=AuditEvent.Action.SECURITY_KEY_ADDED)
    assert (added.actor, added.details["key"]) == (user, "Blue key")

    again, sent_to = signed_in(user, next_page="/admin/password_change/")
    assert sent_to.startswith("/admin/two-step/")
    assert "Use your security key" in again.get(sent_to).content.decode()
    options = key_options(again)["options"]
    assert [allowed["id"] for allowed in options["allowCredentials"]] == [key.id]
    assert options["rpId"] == "testserver" and options["userVerification"] == "discouraged"
    answer = key_answer(again, key.get(options, origin=ORIGIN), next_page="/admin/password_change/")
    assert answer.json() == {"next": "/admin/password_change/"}
    assert again.get("/admin/password_change/").status_code == 200
    assert second_steps(user)[-1] == "security key"
    signed_in_with_it = AuditEvent.objects.filter(action=AuditEvent.Action.USER_SIGN_IN).latest("pk")
    said = strip_tags(sentences([signed_in_with_it])[signed_in_with_it.pk])
    assert said == f"{user.username} signed in with a security key"
    stored.refresh_from_db()
    assert stored.sign_count == 1 and stored.last_used_at is not None


@pytest.mark.django_db
def test_an_answer_given_twice_or_for_a_look_alike_site_lets_no_one_in(settings):
    settings.FACESITE_LOGIN_FAILURES = 3
    key = SoftwareKey()
    user = user_with_key(key)
    first, _ = signed_in(user)
    good = key.get(key_options(first)["options"], origin=ORIGIN)
    assert key_answer(first, good).status_code == 200

    client, _ = signed_in(user)
    replayed = key_answer(client, good)
    assert replayed.status_code == 400 and "not asked for in this session" in replayed.json()["error"]
    phished = key_answer(client, key.get(key_options(client)["options"], origin="https://facesite-login.example"))
    assert phished.status_code == 400 and "origin" in phished.json()["error"]
    other_domain = key.get(key_options(client)["options"], origin=ORIGIN, rp_id="facesite-login.example")
    assert key_answer(client, other_domain).status_code == 400
    assert client.get("/admin/").status_code == 302, "still at the second step"

    locked = key_options(client)
    assert locked == {"error": "Too many wrong codes or key answers. Try again in 15 minutes."}, "three lock it"
    assert AuditEvent.objects.get(action=AuditEvent.Action.USER_LOCKED_OUT).details["step"] == "second step"


@pytest.mark.django_db
def test_a_copy_of_a_key_is_refused_once_the_original_signed_after_it():
    key = SoftwareKey()
    user = user_with_key(key)
    copy = SoftwareKey()
    copy.private_key, copy.credential_id = key.private_key, key.credential_id

    first, _ = signed_in(user)
    assert key_answer(first, key.get(key_options(first)["options"], origin=ORIGIN)).status_code == 200
    second, _ = signed_in(user)
    refused = key_answer(second, copy.get(key_options(second)["options"], origin=ORIGIN))
    assert refused.status_code == 400 and "may be a copy of your key" in refused.json()["error"]
    assert second.get("/admin/").status_code == 302
    copied = AuditEvent.objects.get(action=AuditEvent.Action.SECURITY_KEY_COPY)
    assert (copied.details["key"], copied.details["counter"], copied.details["last_counter"]) == ("Blue key", 1, 1)


@pytest.mark.django_db
def test_a_key_that_keeps_no_counter_signs_in_each_time():
    key = SoftwareKey(counter=False)
    user = user_with_key(key)
    for _ in range(2):
        client, _ = signed_in(user)
        assert key_answer(client, key.get(key_options(client)["options"], origin=ORIGIN)).status_code == 200
    assert SecurityKey.objects.get(user=user).sign_count == 0


@pytest.mark.django_db
def test_another_users_key_does_not_pass():
    ada_key, bob_key = SoftwareKey(), SoftwareKey()
    ada, _ = user_with_key(ada_key, username="ada"), user_with_key(bob_key, username="bob")
    client, _ = signed_in(ada)
    options = key_options(client)["options"]
    assert [allowed["id"] for allowed in options["allowCredentials"]] == [ada_key.id]
    refused = key_answer(client, bob_key.get(options, origin=ORIGIN))
    assert refused.json() == {"error": "That key is not one of yours here."}
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_keys_are_added_only_after_the_second_step_and_removing_one_is_audited():
    key = SoftwareKey()
    user = user_with_key(key)
    halfway, _ = signed_in(user)
    assert halfway.get("/admin/two-step/settings/").status_code == 302
    assert halfway.post("/admin/two-step/security-keys/add/options/").status_code == 302
    no_password = Client()
    assert key_options(no_password) == {"error": "Your session ended. Sign in again."}

    assert key_answer(halfway, key.get(key_options(halfway)["options"], origin=ORIGIN)).status_code == 200
    second = SoftwareKey()
    assert key_added(halfway, second, name="Laptop") == {"next": "/admin/two-step/settings/"}
    exclude = halfway.post("/admin/two-step/security-keys/add/options/").json()["options"]["excludeCredentials"]
    assert {excluded["id"] for excluded in exclude} == {key.id, second.id}, "the browser is told not to add one twice"
    duplicate = halfway.post("/admin/two-step/security-keys/add/",
                             {"name": "Again", "credential": second.create(
                                 halfway.post("/admin/two-step/security-keys/add/options/").json()["options"],
                                 origin=ORIGIN)})  # fmt: skip
    assert duplicate.json() == {"error": "That key is already added."}

    laptop = SecurityKey.objects.get(name="Laptop")
    page = halfway.post("/admin/two-step/settings/", {"remove": laptop.pk}, follow=True).content.decode()
    assert "is removed" in page and not SecurityKey.objects.filter(pk=laptop.pk).exists()
    assert halfway.post("/admin/two-step/settings/", {"remove": "nonsense"}).status_code == 302
    removed = AuditEvent.objects.get(action=AuditEvent.Action.SECURITY_KEY_REMOVED)
    assert removed.details["key"] == "Laptop"

    assert two_step_reset(user=user, actor=user)
    assert not SecurityKey.objects.filter(user=user).exists(), "a reset takes the keys away with the phone"


@pytest.mark.django_db
def test_a_key_needs_the_back_office_opened_by_its_name(settings):
    user = UserFactory(is_staff=True)
    client, _ = signed_in(user)
    set_up(client)
    by_address = client.post("/admin/two-step/security-keys/add/options/", HTTP_HOST="127.0.0.1:8000")
    assert by_address.status_code == 400 and "not by an address (127.0.0.1:8000)" in by_address.json()["error"]

    settings.FACESITE_WEBAUTHN_RP_ID = "testserver"
    assert client.post("/admin/two-step/security-keys/add/options/",
                       HTTP_HOST="127.0.0.1:8000").json()["options"]["rp"]["id"] == "testserver"  # fmt: skip


@pytest.mark.django_db
def test_a_garbled_answer_is_refused_plainly():
    key = SoftwareKey()
    user = user_with_key(key)
    client, _ = signed_in(user)
    key_options(client)
    refused = key_answer(client, "{not json")
    assert refused.status_code == 400 and refused.json()["error"].startswith("The key's answer was refused")
    client.post("/admin/two-step/security-key/", {"credential": key.get(key_options(client)["options"], origin=ORIGIN)})
    client.post("/admin/two-step/security-keys/add/options/")
    garbled = client.post("/admin/two-step/security-keys/add/", {"name": "Odd", "credential": "[1, 2"})
    assert garbled.status_code == 400 and garbled.json()["error"].startswith("The key's answer was refused")
    assert not SecurityKey.objects.filter(name="Odd").exists()


@pytest.mark.django_db
def test_an_answer_long_after_the_question_is_refused(monkeypatch):
    key = SoftwareKey()
    user = user_with_key(key)
    client, _ = signed_in(user)
    options = key_options(client)["options"]
    monkeypatch.setattr(security_keys, "CHALLENGE_SECONDS", -1)
    late = key_answer(client, key.get(options, origin=ORIGIN))
    assert late.json() == {"error": "The key's answer came too late. Try again."}
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_the_users_list_counts_each_users_keys():
    user_with_key(SoftwareKey(), username="has-a-key")
    administrator = UserFactory(is_staff=True, is_superuser=True)
    client, _ = signed_in(administrator)
    set_up(client)
    listed = client.get("/admin/auth/user/?o=7")  # by the keys column, fewest first
    assert "Security keys" in listed.content.decode()
    counts = {user.username: user.key_count for user in listed.context["cl"].result_list}
    assert counts == {administrator.username: 0, "has-a-key": 1}
