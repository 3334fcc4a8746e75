"""The history page: the same number of SQL queries whether a user has 3 dreams or 40, and
cards that follow every change of their dream although they are cached."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dreams.models import Dream, DreamStatus


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


@pytest.mark.django_db
def test_history_cards_show_each_change_though_they_are_cached(
    alice_client, user, make_character, make_dream
):
    dream = make_dream(user, make_character(user), status=DreamStatus.RUNNING, progress=0.25)

    def card() -> str:
        page = alice_client.get(reverse("dreams:list")).content.decode()
        return page[page.index('class="dream-card"') : page.index("</article>")]

    assert "Running" in card() and 'value="25"' in card()
    # Workers change rows with conditional updates, not save(): the card must follow anyway.
    Dream.objects.filter(pk=dream.pk).update(progress=0.5)
    assert 'value="50"' in card()
    Dream.objects.filter(pk=dream.pk).update(
        status=DreamStatus.SUCCEEDED, progress=1.0, poster="dreams/x/poster.jpg"
    )
    assert "Succeeded" in card() and "/poster.jpg" in card() and "Running" not in card()
