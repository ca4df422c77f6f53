"""Lists read from the store's indexes match the packages as they are after any writes."""

from hypothesis import given
from hypothesis import strategies as st

from patchworks_mock import errors, fixtures
from patchworks_mock.store import Store
from tests.support import deterministic

DOCUMENT = fixtures.generate(3, packages=12, deployed_ratio=0.5)
NAMES = st.text("abAB ", min_size=1, max_size=4)

writes = st.one_of(
    st.tuples(st.just("create"), NAMES),
    st.tuples(st.just("rename"), st.integers(0, 40), NAMES),
    st.tuples(st.just("delete"), st.integers(0, 40)),
    st.tuples(st.just("deploy"), st.integers(0, 40), st.integers(0, 3)),
    st.tuples(st.just("undeploy"), st.integers(0, 40), st.integers(0, 3)),
)
lists = st.tuples(
    st.just("list"),
    st.booleans(),  # deployed only
    # few enough filters to meet again after writes, more than the store keeps up to date
    st.none() | st.sampled_from([["a"], ["A"], ["b"], ["ab"], ["ba"], ["a", "b"], ["aa"], [" "]]),
    st.sampled_from(["id", "name"]),
    st.booleans(),  # descending
)


def _write(store: Store, step: tuple) -> None:
    kind, *args = step
    ids = sorted(store.packages)
    environments = sorted(store.virtual_environments)
    if kind == "create":
        store.create_package(args[0], None, None)
        return
    if not ids:
        return
    package = str(ids[args[0] % len(ids)])
    try:
        if kind == "rename":
            store.update_package(package, {"name": args[1]})
        elif kind == "delete":
            store.delete_package(package)
        elif kind == "deploy":
            store.deploy(package, str(environments[args[1] % len(environments)]), None, None)
        else:
            store.remove_environment(package, str(environments[args[1] % len(environments)]))
    except errors.ApiError:  # an empty package cannot be deployed: nothing changes
        pass


def _expected(store: Store, deployed_only: bool, names, sort: str, descending: bool) -> list:
    """The list computed from the packages themselves, with no index."""
    chosen = [
        p
        for p in store.packages.values()
        if (not deployed_only or store.deployments_of(p))
        and (not names or any(n.casefold() in p.name.casefold() for n in names))
    ]
    order = (lambda p: p.id) if sort == "id" else (lambda p: (p.name.casefold(), p.id))
    return [p.id for p in sorted(chosen, key=order, reverse=descending)]


def _listed(store: Store, deployed_only: bool, names, sort: str, descending: bool) -> tuple:
    """The ids the store lists (all on one page) and its total."""
    page, total = store.list_packages(
        deployed_only=deployed_only,
        names=names,
        sort=sort,
        descending=descending,
        page=1,
        per_page=100,
    )
    return [p.id for p in page], total


@deterministic(150)
@given(st.lists(st.one_of(writes, lists), max_size=40))
def test_every_list_matches_the_packages_after_any_writes(steps):
    store = fixtures.load(DOCUMENT)
    for step in steps:
        if step[0] != "list":
            _write(store, step)
            continue
        expected = _expected(store, *step[1:])
        assert _listed(store, *step[1:]) == (expected, len(expected))


def _check_every_list(store: Store, filters: list) -> None:
    for deployed_only in (False, True):
        for names in filters:
            for sort in ("id", "name"):
                expected = _expected(store, deployed_only, names, sort, False)
                assert _listed(store, deployed_only, names, sort, False) == (
                    expected,
                    len(expected),
                )


def test_a_renamed_deployed_package_moves_in_every_list():
    store = fixtures.load(DOCUMENT)
    filters = [None, ["a"], ["zz"]]
    _check_every_list(store, filters)  # every index and filter in use
    deployed = next(p for p in store.packages.values() if store.deployments_of(p))
    store.update_package(str(deployed.id), {"name": "AAA zz first"})
    _check_every_list(store, filters)


def test_lists_stay_right_when_more_filters_are_used_than_kept():
    store = fixtures.load(DOCUMENT)
    filters = [[c] for c in "abcdefghijklmnopqrst"]  # more than the store keeps up to date
    _check_every_list(store, filters)
    store.create_package("a new one", None, None)
    store.delete_package(str(min(store.packages)))
    _check_every_list(store, [None, *filters])
