from typing import Any

from django import template

from lib.money import format_usd

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any] | None, key: str) -> Any:
    """``mapping[key]``, or None: lets a template look up a per-backend offer by name."""
    return mapping.get(key) if mapping else None


register.filter("usd", format_usd)
