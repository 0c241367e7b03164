"""Image and pool metadata: get/set/remove (KeyError when missing), MetadataIterator and PoolMetadataIterator."""
import gc

import pytest

import rbd
from conftest import unique_name


@pytest.fixture
def pool_keys(ioctx):
    """Pool metadata keys a test sets; removed afterwards (the pool is shared by the module)."""
    keys = []
    yield keys
    for key in keys:
        try:
            rbd.RBD().pool_metadata_remove(ioctx, key)
        except KeyError:
            pass


def test_set_get_remove(image):
    image.metadata_set("color", "blue")
    assert image.metadata_get("color") == "blue"
    image.metadata_set("color", "green")  # overwrite
    assert image.metadata_get("color") == "green"
    image.metadata_remove("color")
    with pytest.raises(KeyError):
        image.metadata_get("color")


def test_missing_key_is_key_error(image):
    with pytest.raises(KeyError) as info:
        image.metadata_get("absent")
    assert "absent" in str(info.value)
    with pytest.raises(KeyError):
        image.metadata_remove("absent")


def test_bytes_and_unicode(image):
    image.metadata_set(b"raw-key", b"raw-value")
    assert image.metadata_get("raw-key") == "raw-value"
    assert image.metadata_get(b"raw-key") == "raw-value"
    image.metadata_set("clé", "valeur é ✓")
    assert image.metadata_get("clé") == "valeur é ✓"
    assert ("clé", "valeur é ✓") in list(image.metadata_list())


def test_empty_value_and_key(image):
    image.metadata_set("empty", "")
    image.metadata_set("next", "n")
    assert image.metadata_get("empty") == ""
    # Upstream drops empty values from the list, which shifts every later value onto the wrong key.
    assert list(image.metadata_list()) == [("empty", ""), ("next", "n")]


def test_long_value(image):
    value = "".join(chr(ord("a") + i % 26) for i in range(200000))
    image.metadata_set("long", value)
    image.metadata_set("short", "s")
    assert image.metadata_get("long") == value
    assert list(image.metadata_list()) == [("long", value), ("short", "s")]


def test_list_empty(image):
    assert list(image.metadata_list()) == []


def test_list_pages_through_many_keys(image):
    expected = [("key%03d" % i, "v" * i) for i in range(300)]  # key000 has an empty value
    for key, value in expected:
        image.metadata_set(key, value)
    iterator = image.metadata_list()
    assert isinstance(iterator, rbd.MetadataIterator)
    assert list(iterator) == expected
    assert list(iterator) == expected  # iterating again starts over


def test_get_next_chunk_advances(image):
    expected = [("k%02d" % i, str(i)) for i in range(70)]
    for key, value in expected:
        image.metadata_set(key, value)
    iterator = image.metadata_list()
    assert iterator.get_next_chunk() is None
    assert list(iterator) == expected[32:]  # the first page was skipped by the explicit call
    iterator.get_next_chunk()
    iterator.get_next_chunk()


def test_iterator_keeps_working_after_image_reference_dropped(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    for i in range(40):
        image.metadata_set("k%02d" % i, "v")
    iterator = image.metadata_list()
    del image
    gc.collect()
    assert len(list(iterator)) == 40  # the second page is fetched through the image the iterator holds


def test_iterator_of_closed_image(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    for i in range(40):
        image.metadata_set("k%02d" % i, "v")
    iterator = image.metadata_list()
    image.close()
    with pytest.raises(rbd.InvalidArgument, match="image is closed"):
        list(iterator)


def test_iterator_constructor_type_checks():
    with pytest.raises(TypeError):
        rbd.MetadataIterator("not an image")
    with pytest.raises(TypeError):
        rbd.PoolMetadataIterator("not an ioctx")


def test_conf_keys_are_metadata(image):
    image.config_set("rbd_cache", "false")
    assert image.metadata_get("conf_rbd_cache") == "false"
    assert ("conf_rbd_cache", "false") in list(image.metadata_list())


def test_bad_types(image):
    for call in (lambda: image.metadata_set(1, "v"), lambda: image.metadata_set("k", 1),
                 lambda: image.metadata_get(None), lambda: image.metadata_remove(2.5),
                 lambda: image.metadata_set("k", "nul\0inside")):
        with pytest.raises(rbd.InvalidArgument):
            call()


def test_read_only_image(ioctx, image_name):
    with rbd.Image(ioctx, image_name) as image:
        image.metadata_set("k", "v")
    with rbd.Image(ioctx, image_name, read_only=True) as image:
        assert image.metadata_get("k") == "v"
        assert list(image.metadata_list()) == [("k", "v")]
        with pytest.raises(rbd.ReadOnlyImage):
            image.metadata_set("k", "w")
        with pytest.raises(rbd.ReadOnlyImage):
            image.metadata_remove("k")


def test_visible_from_another_handle(ioctx, image_name):
    with rbd.Image(ioctx, image_name) as writer:
        writer.metadata_set("shared", "yes")
    with rbd.Image(ioctx, image_name) as reader:
        assert reader.metadata_get("shared") == "yes"


def test_closed_image(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    image.close()
    for call in (lambda: image.metadata_get("k"), lambda: image.metadata_set("k", "v"),
                 lambda: image.metadata_remove("k"), lambda: image.metadata_list()):
        with pytest.raises(rbd.InvalidArgument, match="image is closed"):
            call()


# --- pool metadata ----------------------------------------------------------------------------------------------

def test_pool_set_get_remove(ioctx, pool_keys):
    rbd_inst = rbd.RBD()
    key = unique_name("pk")
    pool_keys.append(key)
    rbd_inst.pool_metadata_set(ioctx, key, "value")
    assert rbd_inst.pool_metadata_get(ioctx, key) == "value"
    assert rbd_inst.pool_metadata_get(ioctx, key.encode()) == "value"
    assert (key, "value") in list(rbd_inst.pool_metadata_list(ioctx))
    rbd_inst.pool_metadata_remove(ioctx, key)
    with pytest.raises(KeyError):
        rbd_inst.pool_metadata_get(ioctx, key)
    with pytest.raises(KeyError):
        rbd_inst.pool_metadata_remove(ioctx, key)
    assert key not in dict(rbd_inst.pool_metadata_list(ioctx))


def test_pool_list_pages(cluster, pool, pool_keys):
    rbd_inst = rbd.RBD()
    prefix = unique_name("page")
    expected = [("%s-%03d" % (prefix, i), "" if i == 0 else "v%d" % i) for i in range(100)]
    with cluster.open_ioctx(pool) as ioctx:
        for key, value in expected:
            pool_keys.append(key)
            rbd_inst.pool_metadata_set(ioctx, key, value)
        iterator = rbd_inst.pool_metadata_list(ioctx)
        assert isinstance(iterator, rbd.PoolMetadataIterator)
        listed = [pair for pair in iterator if pair[0].startswith(prefix)]
        assert listed == expected
        iterator = rbd_inst.pool_metadata_list(ioctx)
        iterator.get_next_chunk()
        rest = list(iterator)
        assert len(rest) == len(dict(rbd.RBD().pool_metadata_list(ioctx))) - 32


def test_pool_iterator_keeps_ioctx_alive(cluster, pool, ioctx, pool_keys):
    prefix = unique_name("alive")
    for i in range(40):
        pool_keys.append("%s-%02d" % (prefix, i))
        rbd.RBD().pool_metadata_set(ioctx, pool_keys[-1], "v")
    other = cluster.open_ioctx(pool)
    iterator = rbd.RBD().pool_metadata_list(other)
    del other
    gc.collect()
    assert [k for k, _ in iterator if k.startswith(prefix)] == pool_keys[-40:]


def test_pool_iterator_with_closed_ioctx(cluster, pool, ioctx, pool_keys):
    prefix = unique_name("closed")
    for i in range(40):
        pool_keys.append("%s-%02d" % (prefix, i))
        rbd.RBD().pool_metadata_set(ioctx, pool_keys[-1], "v")
    other = cluster.open_ioctx(pool)
    iterator = rbd.RBD().pool_metadata_list(other)
    other.close()
    with pytest.raises(rbd.InvalidArgument, match="ioctx is closed"):
        list(iterator)  # the second page would need the closed ioctx: an error, not a crash


def test_pool_bad_arguments(ioctx):
    rbd_inst = rbd.RBD()
    with pytest.raises(TypeError):
        rbd_inst.pool_metadata_get("ioctx", "k")
    with pytest.raises(TypeError):
        rbd_inst.pool_metadata_set(None, "k", "v")
    with pytest.raises(TypeError):
        rbd_inst.pool_metadata_list(42)
    with pytest.raises(rbd.InvalidArgument):
        rbd_inst.pool_metadata_set(ioctx, "k", 5)
    with pytest.raises(rbd.InvalidArgument):
        rbd_inst.pool_metadata_get(ioctx, 5)
    with pytest.raises(rbd.InvalidArgument):
        rbd_inst.pool_metadata_remove(ioctx, None)


def test_pool_closed_ioctx(cluster, pool):
    other = cluster.open_ioctx(pool)
    other.close()
    with pytest.raises(rbd.InvalidArgument):
        rbd.RBD().pool_metadata_get(other, "k")
    with pytest.raises(rbd.InvalidArgument):
        rbd.RBD().pool_metadata_list(other)
