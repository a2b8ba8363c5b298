from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render

from .forms import PostcodeForm
from .models import Buurt, Gemeente, Provincie, Wijk
from .postcode import lookup_pc4


def home(request):
    provincies = Provincie.objects.annotate(
        n_gemeenten=Count("gemeenten", filter=Q(gemeenten__ended_on__isnull=True))
    )
    return render(
        request, "gemeenten/home.html", {"form": PostcodeForm(), "provincies": provincies}
    )


def postcode_search(request):
    """Where does this postcode lie? A GET form, so it works without JavaScript."""
    if "postcode" not in request.GET:
        return redirect("home")
    form = PostcodeForm(request.GET)
    if not form.is_valid():
        return render(request, "gemeenten/postcode.html", {"form": form}, status=400)
    result = lookup_pc4(form.pc4)
    status = 200 if result.gemeente else 404
    context = {"form": form, "result": result, "postcode": form.cleaned_data["postcode"]}
    return render(request, "gemeenten/postcode.html", context, status=status)


def provincie_detail(request, code):
    provincie = get_object_or_404(Provincie, code=code)
    gemeenten = provincie.gemeenten.existing().order_by("name")
    return render(
        request, "gemeenten/provincie.html", {"provincie": provincie, "gemeenten": gemeenten}
    )


def gemeente_detail(request, code):
    gemeente = get_object_or_404(Gemeente.objects.select_related("provincie"), code=code)
    wijken = gemeente.wijken.prefetch_related(
        Prefetch("buurten", queryset=Buurt.objects.order_by("name"))
    ).order_by("name")
    return render(request, "gemeenten/gemeente.html", {"gemeente": gemeente, "wijken": wijken})


def buurt_detail(request, code):
    buurt = get_object_or_404(
        Buurt.objects.select_related("wijk", "gemeente__provincie"), code=code
    )
    return render(request, "gemeenten/buurt.html", {"buurt": buurt})


def wijk_detail(request, code):
    wijk = get_object_or_404(Wijk.objects.select_related("gemeente"), code=code)
    return redirect(f"{wijk.gemeente.get_absolute_url()}#{wijk.code}")
