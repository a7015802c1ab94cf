"""The registry's values in words, as pages print them."""

from django import template

from auditreg.registry import rules

register = template.Library()


@register.filter
def role_words(role: str) -> str:
    """A stored role value in words: `model_risk_committee` → `model risk committee`."""
    return rules.role_words(role)
