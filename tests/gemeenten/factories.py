import factory

from gemeenten.models import Buurt, Gemeente, Postcodegebied, Provincie, Wijk


class ProvincieFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provincie
        django_get_or_create = ["code"]

    code = "PV26"
    name = "Utrecht"


class GemeenteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Gemeente

    # 2000–4999: no real CBS code, nor the fixed codes tests use (GM91xx, GM8999).
    code = factory.Sequence(lambda n: f"GM{2000 + n % 3000:04d}")
    name = factory.Sequence(lambda n: f"Gemeente {n}")
    provincie = factory.SubFactory(ProvincieFactory)


class WijkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Wijk

    gemeente = factory.SubFactory(GemeenteFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"WK{o.gemeente.code[2:]}{n % 100:02d}")
    name = factory.Sequence(lambda n: f"Wijk {n}")


class BuurtFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Buurt

    wijk = factory.SubFactory(WijkFactory)
    gemeente = factory.SelfAttribute("wijk.gemeente")
    code = factory.LazyAttributeSequence(lambda o, n: f"BU{o.wijk.code[2:]}{n % 100:02d}")
    name = factory.Sequence(lambda n: f"Buurt {n}")


class PostcodegebiedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Postcodegebied

    pc4 = "3511"
    gemeente = factory.SubFactory(GemeenteFactory)
