from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


def home(request: HttpRequest) -> HttpResponse:
    """Visitors see what the product does; signed-in users go straight to their history."""
    if request.user.is_authenticated:
        return redirect("dreams:list")
    return render(request, "home.html")
