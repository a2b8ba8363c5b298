"""The project's URLs plus one tiny page behind each staff decorator (tests only)."""

from django.http import HttpResponse
from django.urls import path

from buurtgesprek.urls import urlpatterns as project_urlpatterns
from facilitators.decorators import coordinator_required, facilitator_required, staff_required


def page(request):
    return HttpResponse("staff page")


urlpatterns = [
    path("test/staff/", staff_required(page), name="test_staff"),
    path("test/facilitator/", facilitator_required(page), name="test_facilitator"),
    path("test/coordinator/", coordinator_required(page), name="test_coordinator"),
    *project_urlpatterns,
]
