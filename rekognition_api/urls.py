from django.urls import path

from rekognition_api.views import rekognition

# botocore POSTs to the endpoint URL's path as given: /rekognition, without a trailing slash.
urlpatterns = [
    path("rekognition", rekognition, name="rekognition"),
    path("rekognition/", rekognition),
]
