from collections import defaultdict
from collections.abc import Iterable

from .models import Category


def descendant_ids_in(tree: Iterable[tuple[int, int | None]], category_ids: Iterable[int]) -> list[int]:
    """The given categories and everything below them in ``tree`` ((id, parent_id) rows), sorted."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent_id in tree:
        children[parent_id].append(pk)
    seen: set[int] = set()
    stack = [int(c) for c in category_ids]
    while stack:
        pk = stack.pop()
        if pk in seen:
            continue
        seen.add(pk)
        stack.extend(children.get(pk, ()))
    return sorted(seen)


def category_descendant_ids(*, category_ids: Iterable[int]) -> list[int]:
    """The given categories and everything below them, from one query over the (small) tree."""
    return descendant_ids_in(Category.objects.values_list("id", "parent_id"), category_ids)


def category_ancestor_ids(*, category_id: int) -> list[int]:
    """The category and its ancestors, nearest first."""
    parents = dict(Category.objects.values_list("id", "parent_id"))
    chain: list[int] = []
    current: int | None = category_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain
