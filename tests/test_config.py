"""Configuration overrides of an image (Image.config_*) and of a pool (RBD.config_*), and their iterators."""
import pytest

import rbd


@pytest.fixture
def pool_override(ioctx):
    """Pool overrides a test sets; removed afterwards (the pool is shared by the module)."""
    keys = []
    yield keys
    for key in keys:
        try:
            rbd.RBD().config_remove(ioctx, key)
        except KeyError:
            pass


def options(iterator):
    return {entry["name"]: entry for entry in iterator}


def test_image_config_list_shape(image):
    iterator = image.config_list()
    assert isinstance(iterator, rbd.ConfigImageIterator)
    entries = list(iterator)
    assert len(entries) > 50
    assert list(iterator) == entries  # eager: iterating again gives the same list
    for entry in entries:
        assert set(entry) == {"name", "value", "source"}
        assert entry["name"].startswith("rbd_")
        assert isinstance(entry["value"], str)
        assert entry["source"] in (rbd.RBD_CONFIG_SOURCE_CONFIG, rbd.RBD_CONFIG_SOURCE_POOL,
                                   rbd.RBD_CONFIG_SOURCE_IMAGE)
    cache = options(entries)["rbd_cache"]
    assert cache["source"] == rbd.RBD_CONFIG_SOURCE_CONFIG and cache["value"] in ("true", "false")


def test_image_override_round_trip(image):
    with pytest.raises(KeyError) as info:
        image.config_get("rbd_cache")
    assert "rbd_cache" in str(info.value)
    image.config_set("rbd_cache", "false")
    assert image.config_get("rbd_cache") == "false"
    assert options(image.config_list())["rbd_cache"] == {"name": "rbd_cache", "value": "false",
                                                         "source": rbd.RBD_CONFIG_SOURCE_IMAGE}
    image.config_set(b"rbd_qos_iops_limit", b"100")
    assert image.config_get(b"rbd_qos_iops_limit") == "100"
    image.config_remove("rbd_cache")
    with pytest.raises(KeyError):
        image.config_get("rbd_cache")
    assert options(image.config_list())["rbd_cache"]["source"] == rbd.RBD_CONFIG_SOURCE_CONFIG
    with pytest.raises(KeyError):
        image.config_remove("rbd_cache")


def test_image_override_seen_by_new_handle(ioctx, image_name):
    with rbd.Image(ioctx, image_name) as image:
        image.config_set("rbd_readahead_max_bytes", "65536")
    with rbd.Image(ioctx, image_name, read_only=True) as image:
        entry = options(image.config_list())["rbd_readahead_max_bytes"]
        assert entry["value"] == "65536" and entry["source"] == rbd.RBD_CONFIG_SOURCE_IMAGE


def test_image_invalid_option_or_value(image):
    with pytest.raises(rbd.InvalidArgument):
        image.config_set("no_such_option", "1")
    with pytest.raises(rbd.InvalidArgument):
        image.config_set("rbd_cache", "not-a-bool")
    with pytest.raises(KeyError):
        image.config_get("no_such_option")


def test_image_bad_types(image):
    for call in (lambda: image.config_get(5), lambda: image.config_set("rbd_cache", True),
                 lambda: image.config_set(None, "true"), lambda: image.config_remove(1.0)):
        with pytest.raises(rbd.InvalidArgument):
            call()


def test_image_read_only(ioctx, image_name):
    with rbd.Image(ioctx, image_name) as image:
        image.config_set("rbd_cache", "false")
    with rbd.Image(ioctx, image_name, read_only=True) as image:
        assert image.config_get("rbd_cache") == "false"
        with pytest.raises(rbd.ReadOnlyImage):
            image.config_set("rbd_cache", "true")
        with pytest.raises(rbd.ReadOnlyImage):
            image.config_remove("rbd_cache")


def test_image_closed(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    image.close()
    for call in (image.config_list, lambda: image.config_get("rbd_cache"),
                 lambda: image.config_set("rbd_cache", "true"), lambda: image.config_remove("rbd_cache")):
        with pytest.raises(rbd.InvalidArgument, match="image is closed"):
            call()
    with pytest.raises(rbd.InvalidArgument, match="image is closed"):
        rbd.ConfigImageIterator(image)


def test_pool_config_list_shape(ioctx):
    iterator = rbd.RBD().config_list(ioctx)
    assert isinstance(iterator, rbd.ConfigPoolIterator)
    entries = list(iterator)
    assert len(entries) > 50
    assert all(set(e) == {"name", "value", "source"} and e["name"].startswith("rbd_") for e in entries)
    assert options(entries)["rbd_cache"]["source"] == rbd.RBD_CONFIG_SOURCE_CONFIG


def test_pool_override_round_trip(ioctx, image_name, pool_override):
    rbd_inst = rbd.RBD()
    with pytest.raises(KeyError) as info:
        rbd_inst.config_get(ioctx, "rbd_cache")
    assert "rbd_cache" in str(info.value)
    pool_override.append("rbd_cache")
    rbd_inst.config_set(ioctx, "rbd_cache", "false")
    assert rbd_inst.config_get(ioctx, "rbd_cache") == "false"
    assert rbd_inst.pool_metadata_get(ioctx, "conf_rbd_cache") == "false"
    assert options(rbd_inst.config_list(ioctx))["rbd_cache"] == {"name": "rbd_cache", "value": "false",
                                                                 "source": rbd.RBD_CONFIG_SOURCE_POOL}
    with rbd.Image(ioctx, image_name) as image:
        assert options(image.config_list())["rbd_cache"]["source"] == rbd.RBD_CONFIG_SOURCE_POOL
        image.config_set("rbd_cache", "true")  # the image's own override wins
        assert options(image.config_list())["rbd_cache"] == {"name": "rbd_cache", "value": "true",
                                                             "source": rbd.RBD_CONFIG_SOURCE_IMAGE}
    rbd_inst.config_remove(ioctx, "rbd_cache")
    with pytest.raises(KeyError):
        rbd_inst.config_get(ioctx, "rbd_cache")
    with pytest.raises(KeyError):
        rbd_inst.config_remove(ioctx, "rbd_cache")
    assert options(rbd_inst.config_list(ioctx))["rbd_cache"]["source"] == rbd.RBD_CONFIG_SOURCE_CONFIG


def test_pool_invalid_and_bad_types(cluster, pool, ioctx):
    rbd_inst = rbd.RBD()
    with pytest.raises(rbd.InvalidArgument):
        rbd_inst.config_set(ioctx, "no_such_option", "1")
    with pytest.raises(rbd.InvalidArgument):
        rbd_inst.config_set(ioctx, "rbd_cache", "not-a-bool")
    with pytest.raises(rbd.InvalidArgument):
        rbd_inst.config_get(ioctx, 7)
    with pytest.raises(rbd.InvalidArgument):
        rbd_inst.config_set(ioctx, "rbd_cache", 1)
    for call in (lambda: rbd_inst.config_list("ioctx"), lambda: rbd_inst.config_get(None, "rbd_cache"),
                 lambda: rbd_inst.config_set(1, "rbd_cache", "true"), lambda: rbd_inst.config_remove([], "x")):
        with pytest.raises(TypeError):
            call()
    closed = cluster.open_ioctx(pool)
    closed.close()
    with pytest.raises(rbd.InvalidArgument, match="ioctx is closed"):
        rbd_inst.config_list(closed)
    with pytest.raises(rbd.InvalidArgument, match="ioctx is closed"):
        rbd_inst.config_get(closed, "rbd_cache")
