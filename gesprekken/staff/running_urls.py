from django.urls import path

from . import running

app_name = "uitvoering"

urlpatterns = [
    path("gesprek/<int:pk>/inchecken/", running.check_in, name="check_in"),
    path("gesprek/<int:pk>/inchecken/<int:aanmelding_pk>/", running.mark, name="mark"),
    path("gesprek/<int:pk>/verslag/", running.report, name="report"),
    path("gesprek/<int:pk>/flyer.pdf", running.flyer_pdf, name="flyer"),
    path("agenda/", running.calendar, name="calendar"),
    path("agenda/vernieuwen/", running.calendar_renew, name="calendar_renew"),
    # Public: calendar apps cannot log in; the secret token is the key.
    path("agenda/<int:user_pk>/<str:token>.ics", running.feed, name="feed"),
]
