from django.urls import path

from . import views

app_name = "gemeenten"

urlpatterns = [
    path("postcode/", views.postcode_search, name="postcode"),
    path("provincie/<str:code>/", views.provincie_detail, name="provincie"),
    path("gemeente/<str:code>/", views.gemeente_detail, name="gemeente"),
    path("wijk/<str:code>/", views.wijk_detail, name="wijk"),
    path("buurt/<str:code>/", views.buurt_detail, name="buurt"),
]
