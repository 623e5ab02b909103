"""A one-file Django project; `python django_server.py runserver 127.0.0.1:PORT`."""

import os
import sys

from django.conf import settings  # type: ignore[import-untyped]
from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]
from django.urls import path  # type: ignore[import-untyped]


def pid(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(os.getpid()))


settings.configure(
    DEBUG=True,
    SECRET_KEY="test-only",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    INSTALLED_APPS=[],
    LOGGING_CONFIG=None,
)
urlpatterns = [path("", pid)]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line  # type: ignore[import-untyped]

    print("serving", flush=True)
    execute_from_command_line(sys.argv)
