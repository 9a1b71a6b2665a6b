import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from backoffice.roles import sync_roles
from recognition.models import Person


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"operator{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def role(self, create, name, **kwargs):
        """``UserFactory(role="Operator")`` puts the user in that role's group."""
        if create and name:
            if not Group.objects.filter(name=name).exists():
                sync_roles()  # transactional tests flush the groups the migration made
            self.groups.add(Group.objects.get(name=name))


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = factory.Faker("name")
    external_id = factory.Sequence(lambda n: f"BADGE-{n:05d}")
