"""`python -m rbd export|import|export-diff|import-diff`: swapped for the rbd CLI in real shell pipes."""
import os
import pty
import subprocess
import sys

import rbd

from conftest import MiB, unique_name
from test_streams import digest, make_history, snap_names, state

OURS = [sys.executable, "-m", "rbd"]


def shell(command, **kwargs):
    """Run `command` in bash with pipefail; the CompletedProcess."""
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=300, **kwargs)


def ours(ceph_conf):
    return " ".join(OURS) + " --conf " + ceph_conf


def test_pipes_with_the_rbd_cli(ioctx, ceph_conf, pool, cleanup):
    name, target, back = unique_name("src"), unique_name("dst"), unique_name("back")
    cleanup += [name, target, back]
    make_history(ioctx, name)
    for dest in (target, back):
        rbd.RBD().create(ioctx, dest, 1 * MiB)
    cli = "rbd --conf %s --no-progress" % ceph_conf
    # ours -> rbd, incremental: full to s2, then s2 -> s4 (spec with the pool, --from-snap after the spec)
    result = shell("%s export-diff %s/%s@s2 - | %s import-diff - %s/%s" % (ours(ceph_conf), pool, name, cli, pool,
                                                                          target))
    assert result.returncode == 0, result.stderr
    result = shell("%s export-diff -p %s %s@s4 --from-snap s2 - | %s import-diff - %s/%s"
                   % (ours(ceph_conf), pool, name, cli, pool, target))
    assert result.returncode == 0, result.stderr
    # rbd -> ours, with --whole-object
    result = shell("%s export-diff --whole-object %s/%s@s4 - | %s import-diff -p %s - %s"
                   % (cli, pool, name, ours(ceph_conf), pool, back))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""   # no progress bar when stderr is not a terminal
    for image in (target, back):
        assert snap_names(ioctx, image)[-1] == "s4"
        assert digest(ioctx, image, "s4") == digest(ioctx, name, "s4")


def test_export_format_2_pipe_ours_to_ours_and_cli(ioctx, ceph_conf, pool, cleanup, tmp_path):
    name, a, b = unique_name("src"), unique_name("dst"), unique_name("dst")
    cleanup += [name, a, b]
    make_history(ioctx, name)
    result = shell("%s export --export-format 2 %s/%s - | %s import --export-format 2 - %s/%s"
                   % (ours(ceph_conf), pool, name, ours(ceph_conf), pool, a))
    assert result.returncode == 0, result.stderr
    result = shell("rbd --conf %s export --no-progress --export-format 2 %s/%s - | %s import --export-format 2 "
                   "--id admin - %s/%s" % (ceph_conf, pool, name, ours(ceph_conf), pool, b))
    assert result.returncode == 0, result.stderr
    want = state(ioctx, name, metadata=True)
    assert state(ioctx, a, metadata=True) == want
    assert state(ioctx, b, metadata=True) == want
    # raw, to a file and back, the image named after the file as by the CLI
    path = tmp_path / unique_name("raw")
    cleanup.append(path.name)
    result = shell("%s export -p %s %s@s3 %s && %s import -p %s --object-size 1M %s"
                   % (ours(ceph_conf), pool, name, path, ours(ceph_conf), pool, path))
    assert result.returncode == 0, result.stderr
    assert digest(ioctx, path.name) == digest(ioctx, name, "s3")
    with rbd.Image(ioctx, path.name, read_only=True) as image:
        assert image.stat()["order"] == 20


def test_errors_and_exit_codes(ioctx, ceph_conf, pool, image_name):
    result = shell("printf 'rbd diff v1\\nw' | %s import-diff - %s/%s" % (ours(ceph_conf), pool, image_name))
    assert result.returncode == 74
    assert "rbd: import-diff failed:" in result.stderr and "truncated" in result.stderr
    result = shell("%s export-diff %s/no-such-image -" % (ours(ceph_conf), pool))
    assert result.returncode == 2 and "rbd: export-diff failed:" in result.stderr
    result = shell("%s export-diff %s/%s %s" % (ours(ceph_conf), pool, image_name, os.devnull))
    assert result.returncode == 17   # an existing file is refused, as by the CLI
    result = shell("%s import - %s/a@b < /dev/null" % (ours(ceph_conf), pool))
    assert result.returncode != 0 and "snapshot name not allowed" in result.stderr
    result = shell("%s export --export-format 3 %s/%s -" % (ours(ceph_conf), pool, image_name))
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_progress_bar_on_a_terminal(ioctx, ceph_conf, pool, cleanup, tmp_path):
    name = unique_name("src")
    cleanup.append(name)
    make_history(ioctx, name)
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(OURS + ["--conf", ceph_conf, "export-diff", "%s/%s" % (pool, name),
                                        str(tmp_path / "diff")], stderr=secondary, stdout=subprocess.DEVNULL)
        os.close(secondary)
        output = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:   # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        assert proc.wait(timeout=120) == 0
    finally:
        os.close(primary)
    text = output.decode()
    assert "Exporting image: " in text and "% complete..." in text
    assert text.rstrip().endswith("100% complete...done.")


def test_broken_pipe_and_interrupt(ioctx, ceph_conf, pool, cleanup, tmp_path):
    import signal
    import time
    name, target = unique_name("src"), unique_name("dst")
    cleanup += [name, target]
    make_history(ioctx, name)
    # The reader goes away after 100 bytes: one line, exit status 32 (EPIPE), no traceback.
    result = shell("%s export %s/%s@s3 - | head -c 100 > /dev/null" % (ours(ceph_conf), pool, name))
    assert result.returncode == 32, result.stderr
    assert "Broken pipe" in result.stderr and "Traceback" not in result.stderr
    # SIGINT while import-diff waits for the rest of its stream: exit 130, the end snapshot not created.
    rbd.RBD().create(ioctx, target, 1 * MiB)
    diff = tmp_path / "diff"
    subprocess.run(OURS + ["--conf", ceph_conf, "export-diff", "%s/%s@s1" % (pool, name), str(diff)], check=True)
    data = diff.read_bytes()
    # SIGINT at its default in the child: a CI job started in the background (`.ci/run &`) inherits it ignored,
    # and Python then installs no KeyboardInterrupt handler at all.
    proc = subprocess.Popen(OURS + ["--conf", ceph_conf, "import-diff", "-", "%s/%s" % (pool, target)],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    proc.stdin.write(data[:len(data) // 2])
    proc.stdin.flush()
    # Interrupt once it is applying the stream: its size record (12 MiB) has resized the image.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with rbd.Image(ioctx, target, read_only=True) as image:
            if image.size() == 12 * MiB:
                break
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    # Wait for it to end before closing its stdin: on a busy machine the end of the stream could reach it before
    # the signal does, and it would (rightly) report a truncated stream instead.
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:   # it ignored the signal: the assertion below says so
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    proc.stdin.close()
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err
    assert snap_names(ioctx, target) == []
