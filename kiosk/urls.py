from django.contrib.auth.views import LogoutView
from django.urls import path

from kiosk import views

app_name = "kiosk"

urlpatterns = [
    path("", views.kiosk_page, name="page"),
    path("sign-in/", views.KioskSignIn.as_view(), name="sign_in"),
    path("sign-out/", LogoutView.as_view(next_page="kiosk:sign_in"), name="sign_out"),
    path("verify/", views.kiosk_verify, name="verify"),
]
