from datetime import timedelta

import factory
from django.db.models import F
from django.utils import timezone

from gesprekken.models import Aanmelding, Bericht, Gesprek, Interesse, Thema
from tests.gemeenten.factories import BuurtFactory


class ThemaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Thema
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Thema {n}")


class GesprekFactory(factory.django.DjangoModelFactory):
    """A planned gesprek around a table, a week from now, for 10 people."""

    class Meta:
        model = Gesprek

    format = Gesprek.Format.TAFEL
    buurt = factory.SubFactory(BuurtFactory)
    starts_at = factory.LazyFunction(
        lambda: (timezone.now() + timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
    )
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=2))
    status = Gesprek.Status.GEPLAND
    max_participants = 10
    # Tests set only the capacity; the minimum follows so the check constraint holds.
    min_participants = factory.LazyAttribute(lambda o: min(4, o.max_participants))


class AanmeldingFactory(factory.django.DjangoModelFactory):
    """A confirmed registration (it takes a seat); set `status` for anything else."""

    class Meta:
        model = Aanmelding
        # The hook below writes with update(); nothing to save again.
        skip_postgeneration_save = True

    gesprek = factory.SubFactory(GesprekFactory)
    name = factory.Sequence(lambda n: f"Bewoner {n}")
    email = factory.Sequence(lambda n: f"bewoner{n}@example.org")
    postcode = "3511AB"
    status = Aanmelding.Status.BEVESTIGD
    consent_at = factory.LazyFunction(timezone.now)
    confirmed_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def count_present(obj, create, extracted, **kwargs):
        """A registration made AANWEZIG here went around the check-in service: keep
        Gesprek.present right, as gesprekken.services does (in the database and on the
        gesprek instance the test holds)."""
        if create and obj.status == Aanmelding.Status.AANWEZIG:
            Gesprek.objects.filter(pk=obj.gesprek_id).update(present=F("present") + 1)
            obj.gesprek.refresh_from_db(fields=["present"])


class InteresseFactory(factory.django.DjangoModelFactory):
    """An unconfirmed interest; `InteresseFactory(confirmed=True)` for a confirmed one."""

    class Meta:
        model = Interesse

    buurt = factory.SubFactory(BuurtFactory)
    email = factory.Sequence(lambda n: f"buur{n}@example.org")
    consent_at = factory.LazyFunction(timezone.now)

    class Params:
        confirmed = factory.Trait(confirmed_at=factory.LazyFunction(timezone.now))


def reminder_for(aanmelding: Aanmelding, *, save: bool = True) -> Bericht:
    """The reminder the beat queues for `aanmelding`, saved unless `save` is False."""
    bericht = Bericht(
        key=f"herinnering:{aanmelding.pk}",
        kind="herinnering",
        to=aanmelding.email,
        language=aanmelding.language,
        aanmelding=aanmelding,
        gesprek=aanmelding.gesprek,
    )
    if save:
        bericht.save()
    return bericht
