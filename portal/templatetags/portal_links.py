"""Links from a registry subject to its portal page."""

import re

from django import template
from django.urls import reverse

register = template.Library()

VERSION_SUBJECT = re.compile(r"model:(?P<slug>[-\w]+)/(?P<number>\d+)")


@register.filter
def version_url(subject: str) -> str:
    """`model:<slug>/<n>` → the version's page; anything else → ""."""
    found = VERSION_SUBJECT.fullmatch(subject)
    if found is None:
        return ""
    return reverse("portal:version", args=[found["slug"], int(found["number"])])
