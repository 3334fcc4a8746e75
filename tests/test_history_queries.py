"""The history page costs the same number of SQL queries whether a user has 3 dreams or 40."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dreams.models import DreamStatus


@pytest.mark.django_db
def test_history_page_queries_do_not_grow_with_the_number_of_dreams(
    alice_client, user, make_character, make_dream
):
    character = make_character(user)
    statuses = [DreamStatus.SUCCEEDED, DreamStatus.FAILED, DreamStatus.RUNNING]

    def queries_for_history() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = alice_client.get(reverse("dreams:list"))
        assert response.status_code == 200
        return len(captured)

    for index in range(3):
        make_dream(user, character, status=statuses[index % 3], backend="nova-reel")
    few = queries_for_history()
    for index in range(37):
        make_dream(user, character, status=statuses[index % 3])
    many = queries_for_history()
    assert many == few, f"{few} queries for 3 dreams, {many} for 40"
