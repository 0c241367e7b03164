"""Encryption: LUKS1 and LUKS2 format and load.

Formatting and loading run the LUKS key derivation (2-4 s each), so each format is done once per module and the
tests share the two encrypted images, loading them as few times as possible.
"""
import json
import struct
import threading
import time

import pytest

import rbd
from conftest import MiB, remove_image, unique_name
from conftest import suite_features

PASSPHRASE = "correct horse battery staple ✓"
IMAGE_SIZE = 32 * MiB


def encryption_features():
    """The suite's feature mask without journaling, which librbd's encryption refuses (tested below)."""
    features = suite_features()
    return None if features is None else features & ~rbd.RBD_FEATURE_JOURNALING


@pytest.fixture
def plain_name(ioctx):
    """A fresh unencrypted 8 MiB image that encryption accepts (no journaling)."""
    name = unique_name("plain")
    rbd.RBD().create(ioctx, name, 8 * MiB, features=encryption_features())
    yield name
    remove_image(ioctx, name)


@pytest.fixture
def plain(ioctx, plain_name):
    with rbd.Image(ioctx, plain_name) as image:
        yield image


@pytest.fixture(scope="module")
def module_ioctx(cluster, pool):
    ioctx = cluster.open_ioctx(pool)
    yield ioctx
    ioctx.close()


def make_encrypted(ioctx, fmt, **kwargs):
    name = unique_name("enc")
    rbd.RBD().create(ioctx, name, IMAGE_SIZE, features=encryption_features())
    with rbd.Image(ioctx, name) as image:
        image.encryption_format(fmt, PASSPHRASE, **kwargs)
        # The formatting handle itself now reads and writes plaintext.
        assert image.size() < IMAGE_SIZE
        image.write(b"written at format time", 0)
    return name


@pytest.fixture(scope="module")
def encrypted_images(module_ioctx):
    """A LUKS1 image (AES-128) and a LUKS2 image (default AES-256), formatted in two threads at once: the GIL is
    released during the key derivation, so this takes about as long as the slower format alone."""
    results, errors = {}, []

    def format_one(fmt, **kwargs):
        try:
            results[fmt] = make_encrypted(module_ioctx, fmt, **kwargs)
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=format_one, args=(rbd.RBD_ENCRYPTION_FORMAT_LUKS1,),
                                kwargs={"cipher_alg": rbd.RBD_ENCRYPTION_ALGORITHM_AES128}),
               threading.Thread(target=format_one, args=(rbd.RBD_ENCRYPTION_FORMAT_LUKS2,))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        if errors:
            raise errors[0]
        yield results
    finally:
        for name in results.values():
            rbd.RBD().remove(module_ioctx, name)


@pytest.fixture
def luks1_image(encrypted_images):
    return encrypted_images[rbd.RBD_ENCRYPTION_FORMAT_LUKS1]


@pytest.fixture
def luks2_image(encrypted_images):
    return encrypted_images[rbd.RBD_ENCRYPTION_FORMAT_LUKS2]


def test_luks1_header_and_cipher(module_ioctx, luks1_image):
    with rbd.Image(module_ioctx, luks1_image, read_only=True) as raw:
        header = raw.read(0, 4096)
        assert header[:6] == b"LUKS\xba\xbe" and struct.unpack(">H", header[6:8])[0] == 1
        assert header[8:11] == b"aes"
        # key-bytes: 32 for AES-128 in XTS mode (two 128-bit keys), 64 for AES-256.
        assert struct.unpack(">I", header[108:112])[0] == 32


def test_luks2_header_and_cipher(module_ioctx, luks2_image):
    with rbd.Image(module_ioctx, luks2_image, read_only=True) as raw:
        header = raw.read(0, 32 * 1024)
        assert header[:6] == b"LUKS\xba\xbe" and struct.unpack(">H", header[6:8])[0] == 2
        metadata = json.loads(header[4096:].split(b"\0", 1)[0])
        [segment] = metadata["segments"].values()
        assert segment["encryption"] == "aes-xts-plain64"
        assert {keyslot["key_size"] for keyslot in metadata["keyslots"].values()} == {64}  # AES-256


def check_raw_image(ioctx, name, header_size, offset, plaintext):
    """Without loading the encryption the image shows the LUKS header and ciphertext, not the plaintext."""
    with rbd.Image(ioctx, name, read_only=True) as raw:
        assert raw.size() == IMAGE_SIZE
        data = raw.read(0, IMAGE_SIZE)
    assert data[:6] == b"LUKS\xba\xbe"
    assert b"secret payload" not in data and b"written at format time" not in data
    assert data[header_size + offset:][:len(plaintext)] != plaintext


def test_luks1_round_trip_str_passphrase(module_ioctx, luks1_image):
    plaintext = b"secret payload luks1 " * 4000
    offset = 3 * MiB
    with rbd.Image(module_ioctx, luks1_image) as image:
        assert image.size() == IMAGE_SIZE  # not loaded: the raw image
        image.encryption_load(rbd.RBD_ENCRYPTION_FORMAT_LUKS1, PASSPHRASE)
        assert image.size() == IMAGE_SIZE - 4 * MiB
        assert image.read(0, 22) == b"written at format time"
        image.write(plaintext, offset)
        assert image.read(offset, len(plaintext)) == plaintext
        with pytest.raises(rbd.ImageExists):
            image.encryption_load(rbd.RBD_ENCRYPTION_FORMAT_LUKS1, PASSPHRASE)  # already loaded
    check_raw_image(module_ioctx, luks1_image, 4 * MiB, offset, plaintext)


def test_luks2_round_trip_bytes_like_passphrase(module_ioctx, luks2_image):
    """Also: the key derivation takes seconds and other threads run meanwhile; the passphrase buffer is not
    kept after the call (the caller can wipe and resize it)."""
    plaintext = b"secret payload luks2 " * 4000
    offset = 5 * MiB
    passphrase = bytearray(PASSPHRASE.encode())
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.005)

    thread = threading.Thread(target=ticker)
    with rbd.Image(module_ioctx, luks2_image) as image:
        thread.start()
        try:
            start = time.monotonic()
            image.encryption_load(rbd.RBD_ENCRYPTION_FORMAT_LUKS2, passphrase)
            end = time.monotonic()
        finally:
            stop.set()
            thread.join()
        passphrase[:] = b"\0" * len(passphrase)
        passphrase.clear()  # resizing works: the binding released its view of the buffer
        assert image.size() == IMAGE_SIZE - 16 * MiB
        assert image.read(0, 22) == b"written at format time"
        image.write(memoryview(plaintext), offset)
        assert image.read(offset, len(plaintext)) == plaintext
    during = [t for t in ticks if start <= t <= end]
    assert end - start > 0.2 and len(during) >= (end - start) / 0.005 / 10
    check_raw_image(module_ioctx, luks2_image, 16 * MiB, offset, plaintext)


def test_wrong_passphrase_is_permission_error(module_ioctx, luks1_image):
    with rbd.Image(module_ioctx, luks1_image, read_only=True) as image:
        with pytest.raises(rbd.PermissionError) as info:
            image.encryption_load(rbd.RBD_ENCRYPTION_FORMAT_LUKS1, b"not the passphrase")
        assert info.value.errno == 1
        assert image.size() == IMAGE_SIZE  # nothing loaded
        assert image.read(0, 4) == b"LUKS"


def test_wrong_format_is_invalid_argument(module_ioctx, luks1_image, luks2_image):
    with rbd.Image(module_ioctx, luks1_image, read_only=True) as image:
        with pytest.raises(rbd.InvalidArgument):
            image.encryption_load(rbd.RBD_ENCRYPTION_FORMAT_LUKS2, PASSPHRASE)
    with rbd.Image(module_ioctx, luks2_image, read_only=True) as image:
        with pytest.raises(rbd.InvalidArgument):
            image.encryption_load(rbd.RBD_ENCRYPTION_FORMAT_LUKS1, PASSPHRASE)


def test_unsupported_format(plain):
    # Format 2 (RBD_ENCRYPTION_FORMAT_LUKS, detected on load) loads from librbd 1.18; it never formats.
    calls = [lambda: plain.encryption_format(7, PASSPHRASE), lambda: plain.encryption_format(2, PASSPHRASE),
             lambda: plain.encryption_load(7, PASSPHRASE)]
    if rbd.RBD().version()[1] < 18:
        calls.append(lambda: plain.encryption_load(2, PASSPHRASE))
    for call in calls:
        with pytest.raises(rbd.OperationNotSupported) as info:
            call()
        assert info.value.errno == 95
    assert plain.size() == 8 * MiB


def test_bad_arguments(plain):
    with pytest.raises(rbd.InvalidArgument):
        plain.encryption_format(rbd.RBD_ENCRYPTION_FORMAT_LUKS1, 1234)
    with pytest.raises(rbd.InvalidArgument):
        plain.encryption_load(rbd.RBD_ENCRYPTION_FORMAT_LUKS2, None)
    with pytest.raises(rbd.InvalidArgument):
        plain.encryption_load(rbd.RBD_ENCRYPTION_FORMAT_LUKS2, memoryview(bytearray(8))[::2])  # not contiguous
    with pytest.raises(TypeError):
        plain.encryption_format("luks1", PASSPHRASE)
    with pytest.raises(OverflowError):
        plain.encryption_load(-1, PASSPHRASE)
    with pytest.raises(TypeError):
        plain.encryption_format(rbd.RBD_ENCRYPTION_FORMAT_LUKS1, PASSPHRASE, "aes")
    with pytest.raises(rbd.InvalidArgument):  # librbd refuses an unknown cipher
        plain.encryption_format(rbd.RBD_ENCRYPTION_FORMAT_LUKS1, PASSPHRASE, 9)
    assert plain.read(0, 4) == b"\0" * 4  # nothing was formatted


def test_not_encrypted_image(plain):
    with pytest.raises(rbd.InvalidArgument):
        plain.encryption_load(rbd.RBD_ENCRYPTION_FORMAT_LUKS1, PASSPHRASE)


def test_read_only_image(ioctx, plain_name):
    with rbd.Image(ioctx, plain_name, read_only=True) as image:
        with pytest.raises(rbd.ReadOnlyImage):
            image.encryption_format(rbd.RBD_ENCRYPTION_FORMAT_LUKS1, PASSPHRASE)


def test_journaling_refused(ioctx):
    name = unique_name()
    rbd.RBD().create(ioctx, name, IMAGE_SIZE, features=rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK
                     | rbd.RBD_FEATURE_JOURNALING)
    try:
        with rbd.Image(ioctx, name) as image:
            with pytest.raises(rbd.OperationNotSupported):
                image.encryption_format(rbd.RBD_ENCRYPTION_FORMAT_LUKS1, PASSPHRASE)
    finally:
        rbd.RBD().remove(ioctx, name)


def test_closed_image(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    image.close()
    with pytest.raises(rbd.InvalidArgument, match="image is closed"):
        image.encryption_format(rbd.RBD_ENCRYPTION_FORMAT_LUKS1, PASSPHRASE)
    with pytest.raises(rbd.InvalidArgument, match="image is closed"):
        image.encryption_load(rbd.RBD_ENCRYPTION_FORMAT_LUKS1, PASSPHRASE)


LUKS_DETECTED = getattr(rbd, "RBD_ENCRYPTION_FORMAT_LUKS", None)  # librbd 1.18


@pytest.mark.skipif(LUKS_DETECTED is None, reason="needs librbd 1.18: RBD_ENCRYPTION_FORMAT_LUKS")
def test_load_with_detected_luks_format(module_ioctx, luks1_image, luks2_image):
    assert LUKS_DETECTED == 2
    for name in (luks1_image, luks2_image):
        with rbd.Image(module_ioctx, name, read_only=True) as image:
            image.encryption_load(LUKS_DETECTED, PASSPHRASE)
            assert image.read(0, 22) == b"written at format time"


@pytest.mark.skipif(LUKS_DETECTED is None, reason="needs librbd 1.18: Image.encryption_load2")
def test_encryption_load2(module_ioctx, luks2_image, plain):
    with rbd.Image(module_ioctx, luks2_image, read_only=True) as image:
        image.encryption_load2([(rbd.RBD_ENCRYPTION_FORMAT_LUKS2, bytearray(PASSPHRASE.encode()))])
        assert image.size() == IMAGE_SIZE - 16 * MiB
        assert image.read(0, 22) == b"written at format time"
    with rbd.Image(module_ioctx, luks2_image, read_only=True) as image:
        with pytest.raises(rbd.PermissionError, match="error loading encryption on image b?'?%s" % luks2_image):
            image.encryption_load2(((LUKS_DETECTED, "not the passphrase"),))
    with pytest.raises(rbd.OperationNotSupported, match=r"specs\[1\]\[1\]: Unsupported encryption format"):
        plain.encryption_load2([(LUKS_DETECTED, PASSPHRASE), (7, PASSPHRASE)])
    with pytest.raises(rbd.InvalidArgument, match=r"specs\[0\]\[1\]"):
        plain.encryption_load2([(LUKS_DETECTED, 5)])
    with pytest.raises(TypeError):
        plain.encryption_load2(5)
    assert plain.size() == 8 * MiB  # nothing was loaded


def test_encryption_load2_absent_before_librbd_1_18(plain):
    if LUKS_DETECTED is not None:
        pytest.skip("librbd 1.18 has encryption_load2 (tested above)")
    assert not hasattr(plain, "encryption_load2")


ENCRYPTION_FORMAT_UNDER_OWN_ADVISORY_LOCK = r"""
rbd.RBD().create(ioctx, name, 32 << 20, features=rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK)
with rbd.Image(ioctx, name) as image:
    image.lock_exclusive("mine")
    out["locked"] = outcome(lambda: image.encryption_format(rbd.RBD_ENCRYPTION_FORMAT_LUKS1, "passphrase"))
    image.unlock("mine")
    out["unlocked"] = outcome(lambda: image.encryption_format(rbd.RBD_ENCRYPTION_FORMAT_LUKS1, "passphrase"))
rbd.RBD().remove(ioctx, name)
print(json.dumps(out))
"""


def test_encryption_format_under_own_advisory_lock_is_refused(ceph_conf, pool):
    """Formatting writes the image, so under this client's advisory lock librbd would wait forever for the
    exclusive lock (as for writes): ReadOnlyImage instead; it works once unlocked. In a child, with a timeout."""
    from conftest import run_in_child
    out = run_in_child(ENCRYPTION_FORMAT_UNDER_OWN_ADVISORY_LOCK, ceph_conf, pool, unique_name("enc"))
    assert out == {"locked": "ReadOnlyImage", "unlocked": "ok"}
