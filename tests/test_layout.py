"""The layout holds: no import cycle among the project's packages, no product imports another,
``dreamsite`` imports apps only in its URL and ASGI wiring, and a web process never loads a
renderer's heavy libraries."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "accounts", "characters", "dreams", "films", "history", "jobs", "generation", "lib",
    "dreamsite",
)  # fmt: skip
#: The apps users act in: they reach jobs and generation, never each other.
PRODUCTS = ("accounts", "characters", "dreams", "films", "history")
#: The only modules of ``dreamsite`` that may import an app: they route to them.
WIRING = {"dreamsite/urls.py", "dreamsite/routing.py", "dreamsite/asgi.py"}


def imported_packages(path: Path) -> set[str]:
    """The project packages that ``path`` imports, at any depth (function-level included)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    own = path.relative_to(ROOT).parts[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names if name.split(".")[0] in PACKAGES}
    return found - {own}


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {package: set() for package in PACKAGES}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            graph[package] |= imported_packages(path)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in ``graph`` as a list of names (first == last), or None."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return visiting[visiting.index(node) :] + [node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(graph[node]):
            cycle = visit(target)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        cycle = visit(node)
        if cycle:
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_the_project_packages():
    graph = package_graph()
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"
    # The layers point down only (STYLE.md): products -> jobs -> generation; lib for all.
    assert "dreams" not in graph["jobs"] | graph["generation"] | graph["lib"]
    assert "jobs" not in graph["generation"] | graph["lib"]
    assert graph["lib"] == set()


def test_no_product_imports_another():
    """Dreams and films share characters and jobs, never each other: the history, which lists
    both, reads them from its own app (dreams/views.py imported films.models)."""
    graph = package_graph()
    assert "films" not in graph["dreams"] and "dreams" not in graph["films"]


def module_graph(package: str) -> dict[str, set[str]]:
    """The modules of ``package`` (dotted names) and those of the same package each imports,
    at any depth (function-level included), relative imports resolved."""
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                parts = name.split(".")
                base = parts if is_package else parts[:-1]
                base = base[: len(base) - (node.level - 1)] if node.level else []
                stem = ".".join([*base, *([node.module] if node.module else [])])
                targets = [stem, *(f"{stem}.{alias.name}" for alias in node.names)]
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def test_no_import_cycle_among_the_modules_of_a_package():
    """Not even through a function-level import: the five GPU modules were held apart by eight
    of them, and a film's steps by three."""
    for package in PACKAGES:
        cycle = find_cycle(module_graph(package))
        assert cycle is None, f"import cycle: {' -> '.join(cycle or [])}"


#: The libraries only the gpu worker loads, and only from ``generation/gpu/``.
GPU_LIBRARIES = {"torch", "torchao", "diffusers", "transformers", "accelerate"}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports by absolute name, at any depth."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_the_gpu_libraries_and_package_are_imported_in_one_place():
    """torch and diffusers are imported in ``generation/gpu/`` only, and products reach the GPU
    through the registry and the backend interface, never the package's modules."""
    heavy, reaching = {}, {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = str(path.relative_to(ROOT))
            modules = imported_modules(path)
            libraries = {m.split(".")[0] for m in modules} & GPU_LIBRARIES
            if libraries and not name.startswith("generation/gpu/"):
                heavy[name] = sorted(libraries)
            gpu = {m for m in modules if m.startswith("generation.gpu")}
            if gpu and package in PRODUCTS:
                reaching[name] = sorted(gpu)
    assert heavy == {}
    assert reaching == {}


def test_a_films_module_cycle_would_be_found():
    graph = module_graph("films")
    assert "films.clips" in graph["films.pipeline"]
    assert "films.preparation" in graph["films.tasks"]
    assert "films.storyboard" in graph["films.preparation"]
    graph["films.models"].add("films.pipeline")
    assert find_cycle(graph) is not None


def status_writes(path: Path) -> list[int]:
    """The lines of ``path`` that write a job's status: an ``update(status=...)`` (or
    ``**{"status": ...}``), or ``<row>.status = ...``. Creating a row as a draft is not a write."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("update", "save"):
            for keyword in node.keywords:
                spread = keyword.arg is None and isinstance(keyword.value, ast.Dict)
                keys = (
                    [k.value for k in keyword.value.keys if isinstance(k, ast.Constant)]
                    if spread
                    else []
                )  # type: ignore[union-attr]
                if keyword.arg == "status" or "status" in keys:
                    found.append(node.lineno)
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "status" for t in targets):
                found.append(node.lineno)
    return sorted(found)


def test_no_product_writes_a_job_status():
    """Every change of a job's state is a guarded update in ``jobs.lifecycle`` (STYLE.md):
    films queued their scenes and themselves by hand, and held and released a film with a
    claim of their own."""
    offenders = {
        str(path.relative_to(ROOT)): lines
        for package in PRODUCTS
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and (lines := status_writes(path))
    }
    assert offenders == {}


def test_a_status_write_would_be_found(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "Scene.objects.filter(pk=1).update(status='queued')\n"
        "Film.objects.update(**{'status': 'draft'})\nfilm.status = 'running'\n"
        "Scene.objects.create(status='draft')\n"
    )
    assert status_writes(sample) == [1, 2, 3]


def test_dreamsite_imports_apps_only_in_its_url_and_asgi_wiring():
    apps = set(PACKAGES) - {"dreamsite"}
    offenders = {}
    for path in (ROOT / "dreamsite").rglob("*.py"):
        name = str(path.relative_to(ROOT))
        if name in WIRING:
            continue
        imported = imported_packages(path) & apps
        if imported:
            offenders[name] = sorted(imported)
    assert offenders == {}


_WEB_PROCESS = """
import json, sys
import django
django.setup()
from django.test import Client
from django.urls import get_resolver
import dreamsite.asgi, dreamsite.urls  # the ASGI application, as daphne loads it
get_resolver().url_patterns  # every URL conf imported
from django.contrib.auth import get_user_model
user = get_user_model().objects.create_user(email="web@example.com", password="x-Long-pass-9")
client = Client()
client.force_login(user)
pages = {
    path: client.get(path, HTTP_HOST="localhost").status_code
    for path in ("/", "/history/", "/dreams/new/")
}
heavy = sorted(m for m in ("moviepy", "cv2", "torch", "diffusers") if m in sys.modules)
print(json.dumps({"pages": pages, "heavy": heavy}))
"""


def test_a_web_process_never_imports_moviepy_opencv_or_torch(tmp_path):
    """The ASGI application, every URL conf and the dream form (which lists the backends and
    their capabilities) load without a renderer's libraries."""
    database = tmp_path / "web.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dreamsite.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "EMBEDDED_WORKERS": "false",
        "CACHE_URL": "locmemcache://web",
    }
    for name in ("TEST_SERVICES", "DRAMATIQ_BROKER_URL", "CHANNEL_LAYER_URL"):
        env.pop(name, None)
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, timeout=120)
    result = subprocess.run(
        [sys.executable, "-c", _WEB_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["pages"] == {"/": 302, "/history/": 200, "/dreams/new/": 200}
    assert report["heavy"] == []
