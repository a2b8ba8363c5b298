"""Staff users: an allauth user with a verified e-mail address, optionally a TOTP authenticator."""

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth import get_user_model

from facilitators.models import Facilitator, Organisatie, Rol

PASSWORD = "vijf-Buurten-42"  # noqa: S105 (test password; set only where a test logs in by form)


class UserFactory(factory.django.DjangoModelFactory):
    """A user whose e-mail address allauth considers verified.

    `UserFactory(totp=True)` also gives them a TOTP authenticator (the secret is on
    `user.totp_secret`), so the staff decorators let them through.
    `UserFactory(password=PASSWORD)` sets a usable password (slow: it is hashed).
    """

    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    first_name = factory.Sequence(lambda n: f"Voornaam{n}")
    last_name = "Achternaam"

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        if extracted:
            self.set_password(extracted)
        else:
            self.set_unusable_password()
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.update_or_create(
                user=self, email=self.email, defaults={"verified": True, "primary": True}
            )

    @factory.post_generation
    def totp(self, create, extracted, **kwargs):
        if create and extracted:
            self.totp_secret = generate_totp_secret()
            TOTP.activate(self, self.totp_secret)


class OrganisatieFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisatie
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Buurtwerk {n}")
    kind = Organisatie.Kind.WELZIJN


class FacilitatorFactory(factory.django.DjangoModelFactory):
    """`FacilitatorFactory(gemeenten=[a], user__totp=True)`."""

    class Meta:
        model = Facilitator
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    training_done = True

    @factory.post_generation
    def gemeenten(self, create, extracted, **kwargs):
        if create and extracted:
            self.gemeenten.set(extracted)

    @factory.post_generation
    def organisaties(self, create, extracted, **kwargs):
        if create and extracted:
            self.organisaties.set(extracted)


class RolFactory(factory.django.DjangoModelFactory):
    """A municipal coordinator role by default; `RolFactory(landelijk=True)` for national."""

    class Meta:
        model = Rol

    user = factory.SubFactory(UserFactory)
    kind = Rol.Kind.GEMEENTE
    gemeente = None

    class Params:
        landelijk = factory.Trait(kind=Rol.Kind.LANDELIJK, gemeente=None)
