"""The layers of docs/architecture.md, checked on the source: who may import whom, and no import circles.

Imports are read from the code (module level and inside functions), so a late import cannot
slip round a rule. "Reach" means directly or through any chain of Collab modules.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "matching", "models")
SLACK_LIBRARIES = ("slack_sdk", "slack_bolt")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@lru_cache(maxsize=None)
def modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _resolve(name: str, node: ast.ImportFrom, path: Path) -> str:
    if not node.level:
        return node.module or ""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@lru_cache(maxsize=None)
def imports(name: str, top_level_only: bool = False) -> frozenset[str]:
    """What `name` imports: Collab modules by their module name, other libraries by their top package."""
    path = modules()[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    found: set[str] = set()
    for node in nodes:
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(name, node, path)
            submodules = [f"{module}.{a.name}" for a in node.names]
            # `from package import module` depends on that module; anything else, on the package too.
            only_modules = all(s in modules() for s in submodules)
            targets = submodules if only_modules else [module] + submodules
        elif top_level_only and isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks are not imports at run time
            continue
        for target in targets:
            if target.split(".")[0] in PACKAGES:
                if target in modules():
                    found.add(target)
            elif target:
                found.add(target.split(".")[0])
    found.discard(name)
    return frozenset(found)


def reach(name: str) -> set[str]:
    seen, todo = set(), [name]
    while todo:
        for target in imports(todo.pop()):
            if target not in seen:
                seen.add(target)
                if target in modules():
                    todo.append(target)
    return seen


def _in(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def layer_members(*prefixes: str) -> list[str]:
    return sorted(m for m in modules() if _in(m, *prefixes))


EDGES = ("bot.slack", "bot.web", "bot.scheduling", "bot.cli", "bot.bootstrap")


@pytest.mark.parametrize("name", layer_members("matching", "models"))
def test_matching_and_models_know_nothing_of_the_bot(name):
    assert not any(_in(m, "bot") for m in reach(name)), sorted(m for m in reach(name) if _in(m, "bot"))


@pytest.mark.parametrize("name", layer_members("bot.domain"))
def test_the_domain_does_no_io_and_needs_no_other_layer(name):
    outside = {m for m in imports(name) if _in(m, *PACKAGES) and not _in(m, "bot.domain")}
    io = {m for m in imports(name) if m in ("sqlalchemy", "sqlmodel", "requests", "urllib", "socket")}
    assert not outside and not io, sorted(outside | io)


@pytest.mark.parametrize("name", layer_members("bot.services"))
def test_use_cases_reach_no_slack_and_no_message_even_indirectly(name):
    banned = {m for m in reach(name) if m in SLACK_LIBRARIES or _in(m, "bot.messages", "bot.delivery", *EDGES)}
    assert not banned, sorted(banned)


@pytest.mark.parametrize("name", layer_members("bot.messages"))
def test_messages_are_built_from_facts_and_send_nothing(name):
    banned = {m for m in reach(name) if m in SLACK_LIBRARIES or _in(m, "bot.delivery", *EDGES, "models.db")}
    assert not banned, sorted(banned)


@pytest.mark.parametrize("name", layer_members("bot.delivery"))
def test_delivery_speaks_to_slack_only_through_the_messenger_protocol(name):
    banned = {m for m in reach(name) if m in SLACK_LIBRARIES or _in(m, *EDGES)}
    assert not banned, sorted(banned)


# The processes' own start-up code builds its parts through the composition root (a gunicorn worker after
# the fork, the clock at start); nothing else below the command line may.
PROCESS_STARTS = {"bot.web.server", "bot.scheduling.clock"}


@pytest.mark.parametrize("name", layer_members("bot.slack", "bot.web", "bot.scheduling"))
def test_an_edge_does_not_reach_into_another_edges_entry_points(name):
    allowed = ("bot.bootstrap",) if name in PROCESS_STARTS else ()
    banned = {m for m in imports(name) if _in(m, "bot.cli", "bot.bootstrap") and m not in allowed}
    assert not banned, sorted(banned)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other round a loop (Tarjan's strongly connected components)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph.get(v, ()):
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_import_circles():
    """Module-level imports only: a late import inside a function breaks no circle at load time,
    but a circle at module level makes load order matter and hides which layer owns what."""
    graph = {m: {t for t in imports(m, top_level_only=True) if t in modules()} for m in modules()}
    assert circles(graph) == []


def test_the_circle_finder_finds_circles():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_rules_see_real_imports():
    """The checker itself: a known import must be found, or every rule above would pass on nothing."""
    assert "bot.domain.errors" in imports("bot.services.pairings")
    assert "slack_bolt" in reach("bot.slack.app")
    assert "bot.messages.digests" in reach("bot.delivery.digests")
