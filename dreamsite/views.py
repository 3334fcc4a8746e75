from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


def form_status(form) -> int:
    """400 for a submitted form with errors (so tests and tools see the refusal), else 200."""
    return 400 if form.is_bound and form.errors else 200


def home(request: HttpRequest) -> HttpResponse:
    """Visitors see what the product does; signed-in users go straight to their history."""
    if request.user.is_authenticated:
        return redirect("dreams:list")
    return render(request, "home.html")
