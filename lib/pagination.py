"""Pagination that reads a page of rows and the total count in one query."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window

#: Rows skipped beyond which a page number goes to Django's checks: past any real list, and
#: inside every database's integer range (a huge ``?page=`` must not reach SQL).
MAX_OFFSET = 2**31 - 1


class OneQueryPaginator(Paginator):  # type: ignore[type-arg]
    """Django's ``Paginator`` for a queryset, minus its separate ``COUNT`` query.

    Each row of the page carries ``COUNT(*) OVER ()``, a window over every row the filter
    matches, computed before ``LIMIT``/``OFFSET`` apply (PostgreSQL docs, "Window Functions";
    SQLite 3.25 and later). So ``get_page`` costs one query, not two, and the page still
    knows how many pages there are ("Page 2 of 17").

    Only ``get_page`` takes the one-query path, with Django's answers kept: no number or one
    that is not an integer gives the first page; one below 1 or past the end, and an empty
    list, go to Django's own handling (the last page, or an empty first page), which counts
    separately. ``object_list`` must be a queryset; orphans are not supported.
    """

    object_list: QuerySet[Any]

    def get_page(self, number: object) -> Page:  # type: ignore[type-arg]
        try:
            wanted = 1 if number is None else int(str(number))
        except ValueError:
            wanted = 1
        bottom = (wanted - 1) * self.per_page
        if 0 <= bottom <= MAX_OFFSET:
            counted = self.object_list.annotate(matching_rows=Window(Count("pk")))
            rows = list(counted[bottom : bottom + self.per_page])
            if rows:
                # Setting the cached property spares Paginator.count its own query.
                self.count = rows[0].matching_rows
                page: Page = self._get_page(rows, wanted, self)  # type: ignore[attr-defined,type-arg]
                return page
        return super().get_page(wanted)
