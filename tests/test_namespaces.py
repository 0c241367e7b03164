"""Namespaces: create, remove, exists, list; images, trash and groups kept apart per namespace."""
import pytest

import rbd
from conftest import MiB, unique_name


@pytest.fixture
def namespace(ioctx):
    """A fresh namespace's name; removed afterwards if it still exists."""
    name = unique_name("ns")
    rbd.RBD().namespace_create(ioctx, name)
    yield name
    if rbd.RBD().namespace_exists(ioctx, name):
        rbd.RBD().namespace_remove(ioctx, name)


def open_in(cluster, pool, namespace):
    ioctx = cluster.open_ioctx(pool)
    ioctx.set_namespace(namespace)
    return ioctx


def test_create_exists_list_remove(ioctx):
    r = rbd.RBD()
    first, second = unique_name("ns"), unique_name("ns")
    assert r.namespace_exists(ioctx, first) is False
    r.namespace_create(ioctx, first)
    r.namespace_create(ioctx, second.encode())  # bytes names work too
    assert r.namespace_exists(ioctx, first) is True
    assert r.namespace_exists(ioctx, second) is True
    listed = r.namespace_list(ioctx)
    assert first in listed and second in listed
    assert all(type(name) is str for name in listed)
    r.namespace_remove(ioctx, first)
    assert r.namespace_exists(ioctx, first) is False
    assert first not in r.namespace_list(ioctx)
    r.namespace_remove(ioctx, second)
    assert second not in r.namespace_list(ioctx)


def test_list_many_namespaces(ioctx):
    # More names than the first guess of the list buffer holds.
    r = rbd.RBD()
    names = [unique_name("namespace-with-a-long-name") for _ in range(12)]
    for name in names:
        r.namespace_create(ioctx, name)
    try:
        assert set(names) <= set(r.namespace_list(ioctx))
    finally:
        for name in names:
            r.namespace_remove(ioctx, name)


def test_create_existing_raises_image_exists(ioctx, namespace):
    with pytest.raises(rbd.ImageExists) as info:
        rbd.RBD().namespace_create(ioctx, namespace)
    assert info.value.errno == 17


def test_remove_missing_raises_image_not_found(ioctx):
    with pytest.raises(rbd.ImageNotFound) as info:
        rbd.RBD().namespace_remove(ioctx, unique_name("missing"))
    assert info.value.errno == 2


def test_remove_non_empty_raises_image_busy(cluster, pool, ioctx, namespace):
    with open_in(cluster, pool, namespace) as ns:
        rbd.RBD().create(ns, "img", MiB)
        with pytest.raises(rbd.ImageBusy):
            rbd.RBD().namespace_remove(ioctx, namespace)
        rbd.RBD().remove(ns, "img")
    rbd.RBD().namespace_remove(ioctx, namespace)
    assert not rbd.RBD().namespace_exists(ioctx, namespace)


def test_empty_name_is_invalid(ioctx):
    with pytest.raises(rbd.InvalidArgument):
        rbd.RBD().namespace_create(ioctx, "")
    with pytest.raises(rbd.InvalidArgument):
        rbd.RBD().namespace_exists(ioctx, "")


def test_bad_types(cluster, pool, ioctx):
    r = rbd.RBD()
    for call in (r.namespace_create, r.namespace_remove, r.namespace_exists):
        with pytest.raises(rbd.InvalidArgument):
            call(ioctx, 5)
        with pytest.raises(rbd.InvalidArgument):
            call(ioctx, "a\0b")
        with pytest.raises(TypeError):
            call(None, "name")
    with pytest.raises(TypeError):
        r.namespace_list(None)
    closed = cluster.open_ioctx(pool)
    closed.close()
    for call in (r.namespace_create, r.namespace_remove, r.namespace_exists):
        with pytest.raises(rbd.InvalidArgument):
            call(closed, "name")
    with pytest.raises(rbd.InvalidArgument):
        r.namespace_list(closed)


def test_images_in_two_namespaces_stay_apart(cluster, pool, ioctx):
    r = rbd.RBD()
    ns_a, ns_b = unique_name("ns"), unique_name("ns")
    r.namespace_create(ioctx, ns_a)
    r.namespace_create(ioctx, ns_b)
    with open_in(cluster, pool, ns_a) as a, open_in(cluster, pool, ns_b) as b:
        # The same image name in both namespaces: two different images.
        r.create(a, "same", MiB)
        r.create(b, "same", 2 * MiB)
        r.create(a, "only-a", MiB)
        assert sorted(r.list(a)) == ["only-a", "same"]
        assert r.list(b) == ["same"]
        assert "same" not in r.list(ioctx) and "only-a" not in r.list(ioctx)
        with rbd.Image(a, "same") as image:
            image.write(b"A" * 512, 0)
            assert image.size() == MiB
        with rbd.Image(b, "same") as image:
            image.write(b"B" * 512, 0)
            assert image.size() == 2 * MiB
        with rbd.Image(a, "same") as image:
            assert image.read(0, 512) == b"A" * 512
        with pytest.raises(rbd.ImageNotFound):
            rbd.Image(b, "only-a")
        for name in r.list(a):
            r.remove(a, name)
        r.remove(b, "same")
    r.namespace_remove(ioctx, ns_a)
    r.namespace_remove(ioctx, ns_b)


def test_trash_and_groups_inside_a_namespace(cluster, pool, ioctx, namespace):
    r = rbd.RBD()
    with open_in(cluster, pool, namespace) as ns:
        r.create(ns, "img", MiB)
        r.create(ns, "member", MiB)
        r.group_create(ns, "grp")
        with rbd.Group(ns, "grp") as group:
            group.add_image(ns, "member")
            assert [entry["name"] for entry in group.list_images()] == ["member"]
        assert r.group_list(ns) == ["grp"]
        assert "grp" not in r.group_list(ioctx)

        r.trash_move(ns, "img")
        entries = list(r.trash_list(ns))
        assert [entry["name"] for entry in entries] == ["img"]
        assert "img" not in [entry["name"] for entry in r.trash_list(ioctx)]
        assert r.trash_get(ns, entries[0]["id"])["name"] == "img"
        with pytest.raises(rbd.ImageNotFound):
            r.trash_get(ioctx, entries[0]["id"])
        r.trash_restore(ns, entries[0]["id"], "back")
        assert sorted(r.list(ns)) == ["back", "member"]

        r.group_remove(ns, "grp")
        r.remove(ns, "back")
        r.remove(ns, "member")
