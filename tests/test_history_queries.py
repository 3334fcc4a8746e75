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
            response = alice_client.get(reverse("history:list"))
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
        page = alice_client.get(reverse("history:list")).content.decode()
        return page[page.index('class="dream-card"') : page.index("</article>")]

    assert "Running" in card() and 'value="25"' in card()
    # Workers change rows with conditional updates, not save(): the card must follow anyway.
    Dream.objects.filter(pk=dream.pk).update(progress=0.5)
    assert 'value="50"' in card()
    Dream.objects.filter(pk=dream.pk).update(
        status=DreamStatus.SUCCEEDED, progress=1.0, poster="dreams/x/poster.jpg"
    )
    assert "Succeeded" in card() and "/poster.jpg" in card() and "Running" not in card()


@pytest.mark.django_db
def test_history_reads_its_cards_and_the_page_count_in_one_query(
    alice_client, user, make_character, make_dream
):
    character = make_character(user)
    for index in range(30):
        make_dream(user, character, prompt=f"dream number {index}", status=DreamStatus.FAILED)
    with CaptureQueriesContext(connection) as captured:
        page = alice_client.get(reverse("history:list") + "?page=2").content.decode()
    assert "Page 2 of 3" in page
    assert "dream number 17<" in page and "dream number 6<" in page
    assert "dream number 18<" not in page and "dream number 5<" not in page
    dream_queries = [q["sql"] for q in captured if "dreams_dream" in q["sql"]]
    assert len(dream_queries) == 1, dream_queries


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("asked", "shown"),
    [("", 1), ("abc", 1), ("2.5", 1), ("3", 3), ("4", 3), ("0", 3), ("-1", 3), ("9" * 30, 3)],
)
def test_history_page_numbers_that_do_not_exist_show_the_first_or_last_page(
    alice_client, user, make_character, make_dream, asked, shown
):
    character = make_character(user)
    for index in range(30):
        make_dream(user, character, prompt=f"dream number {index}", status=DreamStatus.FAILED)
    response = alice_client.get(reverse("history:list"), {"page": asked})
    assert response.status_code == 200
    assert f"Page {shown} of 3" in response.content.decode()


@pytest.mark.django_db
def test_history_of_a_new_user_says_there_are_no_dreams(alice_client):
    response = alice_client.get(reverse("history:list"))
    assert response.status_code == 200 and "No dreams yet." in response.content.decode()
