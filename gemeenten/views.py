from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render

from .forms import PostcodeForm
from .models import Provincie, Wijk


def home(request):
    provincies = Provincie.objects.annotate(
        n_gemeenten=Count("gemeenten", filter=Q(gemeenten__ended_on__isnull=True))
    )
    return render(
        request, "gemeenten/home.html", {"form": PostcodeForm(), "provincies": provincies}
    )


def provincie_detail(request, code):
    provincie = get_object_or_404(Provincie, code=code)
    gemeenten = provincie.gemeenten.existing().order_by("name")
    return render(
        request, "gemeenten/provincie.html", {"provincie": provincie, "gemeenten": gemeenten}
    )


def wijk_detail(request, code):
    wijk = get_object_or_404(Wijk.objects.select_related("gemeente"), code=code)
    return redirect(f"{wijk.gemeente.get_absolute_url()}#{wijk.code}")
