"""The official CBS hierarchy: Provincie → Gemeente → Wijk → Buurt, keyed by CBS codes."""

from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

provincie_code_validator = RegexValidator(
    r"^PV\d{2}\Z", _("A province code is PV followed by 2 digits, e.g. PV26.")
)
gemeente_code_validator = RegexValidator(
    r"^GM\d{4}\Z", _("A municipality code is GM followed by 4 digits, e.g. GM0344.")
)
# Amsterdam (GM0363) uses letters in its wijk and buurt codes: WK0363AD, BU0363AD03.
wijk_code_validator = RegexValidator(
    r"^WK\d{4}[0-9A-Z]{2}\Z",
    _("A district code is WK, 4 digits and 2 digits or capitals, e.g. WK034401."),
)
buurt_code_validator = RegexValidator(
    r"^BU\d{4}[0-9A-Z]{4}\Z",
    _("A neighbourhood code is BU, 4 digits and 4 digits or capitals, e.g. BU03440100."),
)


class GemeenteQuerySet(models.QuerySet):
    def existing(self):
        return self.filter(ended_on__isnull=True)


class Provincie(models.Model):
    code = models.CharField(
        _("CBS code"), max_length=4, primary_key=True, validators=[provincie_code_validator]
    )
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("province")
        verbose_name_plural = _("provinces")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("gemeenten:provincie", args=[self.code])


class Gemeente(models.Model):
    code = models.CharField(
        _("CBS code"), max_length=6, primary_key=True, validators=[gemeente_code_validator]
    )
    name = models.CharField(_("name"), max_length=100)
    provincie = models.ForeignKey(
        Provincie,
        on_delete=models.PROTECT,
        related_name="gemeenten",
        verbose_name=_("province"),
    )
    inwoners = models.PositiveIntegerField(_("inhabitants"), null=True, blank=True)
    # Simplified boundary as a GeoJSON geometry (WGS84); drawn on the server, no PostGIS.
    boundary = models.JSONField(_("boundary"), null=True, blank=True)
    # Set when the gemeente vanished from the official list (a merger): kept, not deleted.
    ended_on = models.DateField(_("ended on"), null=True, blank=True)

    objects = GemeenteQuerySet.as_manager()

    class Meta:
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("gemeente", args=[self.code])

    @property
    def exists(self) -> bool:
        return self.ended_on is None


class Wijk(models.Model):
    code = models.CharField(
        _("CBS code"), max_length=8, primary_key=True, validators=[wijk_code_validator]
    )
    name = models.CharField(_("name"), max_length=200)
    gemeente = models.ForeignKey(
        Gemeente, on_delete=models.PROTECT, related_name="wijken", verbose_name=_("municipality")
    )
    inwoners = models.PositiveIntegerField(_("inhabitants"), null=True, blank=True)

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Buurt(models.Model):
    code = models.CharField(
        _("CBS code"), max_length=10, primary_key=True, validators=[buurt_code_validator]
    )
    name = models.CharField(_("name"), max_length=200)
    wijk = models.ForeignKey(
        Wijk, on_delete=models.PROTECT, related_name="buurten", verbose_name=_("district")
    )
    # Denormalised from the wijk so that per-gemeente lists and counts need no join.
    gemeente = models.ForeignKey(
        Gemeente, on_delete=models.PROTECT, related_name="buurten", verbose_name=_("municipality")
    )
    inwoners = models.PositiveIntegerField(_("inhabitants"), null=True, blank=True)
    # CBS "MeestVoorkomendePostcode": the buurt's most common 4-digit postcode.
    pc4 = models.CharField(_("most common postcode"), max_length=4, blank=True, db_index=True)

    class Meta:
        verbose_name = _("neighbourhood")
        verbose_name_plural = _("neighbourhoods")
        ordering = ["code"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("buurt", args=[self.code])


class Postcodegebied(models.Model):
    """A 4-digit postcode area and the gemeente(n) it lies in (approximate, from CBS data)."""

    pc4 = models.CharField(_("postcode (4 digits)"), max_length=4)
    gemeente = models.ForeignKey(
        Gemeente,
        on_delete=models.CASCADE,
        related_name="postcodegebieden",
        verbose_name=_("municipality"),
    )
    # 1 = the gemeente where most of this PC4's inhabitants live.
    rank = models.PositiveSmallIntegerField(_("rank"), default=1)

    class Meta:
        verbose_name = _("postcode area")
        verbose_name_plural = _("postcode areas")
        ordering = ["pc4", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["pc4", "gemeente"], name="unique_pc4_gemeente")
        ]

    def __str__(self):
        return f"{self.pc4} → {self.gemeente_id}"


class Import(models.Model):
    """One run of import_gebieden that changed something: what was read and what changed."""

    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    source = models.CharField(_("source"), max_length=500)
    files = models.JSONField(_("files"), default=list)
    summary = models.JSONField(_("changes"), default=dict)

    class Meta:
        verbose_name = _("geography import")
        verbose_name_plural = _("geography imports")
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.source}"
