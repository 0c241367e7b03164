"""python -m rbd: the `rbd` CLI's export, import, export-diff and import-diff commands, on rbd.streams.

Same arguments as the rbd CLI for these commands, so one can replace the other in a pipe:

    python -m rbd export-diff [--from-snap SNAP] [--whole-object] [--no-progress] POOL/IMAGE@SNAP PATH|-
    python -m rbd import-diff [--no-progress] PATH|- POOL/IMAGE
    python -m rbd export [--export-format 1|2] [--no-progress] POOL/IMAGE[@SNAP] PATH|-
    python -m rbd import [--export-format 1|2] [--order N] [--object-size SIZE] [--image-feature F]...
                         [--stripe-unit SIZE] [--stripe-count N] [--no-progress] PATH|- [POOL/IMAGE]

Image specs are [POOL/[NAMESPACE/]]IMAGE[@SNAP]; `-p/--pool` gives the pool when the spec has none (default
"rbd"). Connection options as the CLI's: -c/--conf, --id, -n/--name, --keyring, --cluster (and $CEPH_CONF,
$CEPH_ARGS). A progress bar goes to stderr when it is a terminal. Errors print `rbd: COMMAND failed: ...` and
exit with the errno (1 when there is none); an interrupt exits with 130.
"""
import argparse
import errno
import os
import sys

import rados

import rbd
from rbd import streams

PROGRAM = "python -m rbd"

FEATURE_NAMES = {
    "layering": rbd.RBD_FEATURE_LAYERING, "striping": rbd.RBD_FEATURE_STRIPINGV2,
    "exclusive-lock": rbd.RBD_FEATURE_EXCLUSIVE_LOCK, "object-map": rbd.RBD_FEATURE_OBJECT_MAP,
    "fast-diff": rbd.RBD_FEATURE_FAST_DIFF, "deep-flatten": rbd.RBD_FEATURE_DEEP_FLATTEN,
    "journaling": rbd.RBD_FEATURE_JOURNALING, "data-pool": rbd.RBD_FEATURE_DATA_POOL,
}


def size_argument(text):
    """A size as the CLI takes it: bytes, or with a K/M/G/T suffix (optionally followed by B or iB)."""
    value = text.strip().upper()
    for suffix in ("IB", "B"):
        if value.endswith(suffix) and len(value) > len(suffix) and value[-len(suffix) - 1] in "KMGT":
            value = value[:-len(suffix)]
    shift = {"K": 10, "M": 20, "G": 30, "T": 40}.get(value[-1:], 0)
    if shift:
        value = value[:-1]
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("invalid size %r" % text) from None
    if number <= 0:
        raise argparse.ArgumentTypeError("size must be positive: %r" % text)
    return number << shift


def parse_spec(spec, default_pool, what):
    """(pool, namespace, image, snapshot) from [POOL/[NAMESPACE/]]IMAGE[@SNAP]."""
    image, _, snap = spec.partition("@")
    parts = image.split("/")
    if len(parts) > 3 or not all(parts):
        raise SystemExit("rbd: invalid %s spec %r" % (what, spec))
    pool = parts[0] if len(parts) > 1 else default_pool
    namespace = parts[1] if len(parts) == 3 else ""
    return pool, namespace, parts[-1], snap or None


def build_parser():
    # Connection options are accepted before and after the command, as by the rbd CLI.
    def connection_options(parser, defaults):
        kw = {} if defaults else {"default": argparse.SUPPRESS}
        parser.add_argument("-c", "--conf", help="Ceph configuration file", **kw)
        parser.add_argument("--id", "-i", dest="rados_id", help="client id (without 'client.')", **kw)
        parser.add_argument("-n", "--name", dest="rados_name", help="client name (type.id)", **kw)
        parser.add_argument("--keyring", help="keyring file", **kw)
        parser.add_argument("--cluster", help="cluster name", **kw)
        parser.add_argument("-p", "--pool", help="pool when the spec names none (default: rbd)", **kw)
        parser.add_argument("--no-progress", action="store_true", help="no progress bar", **kw)

    parser = argparse.ArgumentParser(prog=PROGRAM, description="export/import RBD images and diffs "
                                     "in the rbd CLI's stream formats")
    connection_options(parser, True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, help_text):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        connection_options(sub, False)
        return sub

    sub = command("export-diff", "write the diff of an image (to a snapshot or the head) since a snapshot")
    sub.add_argument("source", metavar="SOURCE_SPEC", help="[POOL/]IMAGE[@SNAP]")
    sub.add_argument("path", metavar="PATH", help="output file, or - for stdout")
    sub.add_argument("--from-snap", help="the diff starts at this snapshot (default: the beginning)")
    sub.add_argument("--whole-object", action="store_true", help="compare whole objects")

    sub = command("import-diff", "apply a diff stream to an image and create its end snapshot")
    sub.add_argument("path", metavar="PATH", help="input file, or - for stdin")
    sub.add_argument("dest", metavar="IMAGE_SPEC", help="[POOL/]IMAGE")

    sub = command("export", "write an image (raw, or format 2 with its snapshots)")
    sub.add_argument("source", metavar="SOURCE_SPEC", help="[POOL/]IMAGE[@SNAP]")
    sub.add_argument("path", metavar="PATH", help="output file, or - for stdout")
    sub.add_argument("--export-format", type=int, choices=(1, 2), default=1)

    sub = command("import", "create an image from a raw or format 2 stream")
    sub.add_argument("path", metavar="PATH", help="input file, or - for stdin")
    sub.add_argument("dest", metavar="IMAGE_SPEC", nargs="?", help="[POOL/]IMAGE (default: the file's name)")
    sub.add_argument("--export-format", type=int, choices=(1, 2), default=1)
    sub.add_argument("--order", type=int)
    sub.add_argument("--object-size", type=size_argument)
    sub.add_argument("--image-feature", action="append", choices=sorted(FEATURE_NAMES))
    sub.add_argument("--stripe-unit", type=size_argument)
    sub.add_argument("--stripe-count", type=int)
    return parser


class ProgressBar:
    """`Label: 42% complete...` on stderr when it is a terminal, as the rbd CLI shows it."""

    def __init__(self, label, enabled):
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self.shown = -1

    def __call__(self, done, total):
        if not self.enabled or not total:
            return
        percent = min(100, done * 100 // total)
        if percent != self.shown:
            self.shown = percent
            sys.stderr.write("\r%s: %d%% complete..." % (self.label, percent))
            sys.stderr.flush()

    def finish(self, ok):
        if self.enabled:
            sys.stderr.write("\r%s: 100%% complete...done.\n" % self.label if ok
                             else "\r%s: %d%% complete...failed.\n" % (self.label, max(self.shown, 0)))
            sys.stderr.flush()


def connect(args):
    cluster = rados.Rados(rados_id=args.rados_id, name=args.rados_name, clustername=args.cluster)
    cluster.conf_read_file(args.conf)   # None: $CEPH_CONF, then the default search path
    cluster.conf_parse_env()            # $CEPH_ARGS
    if args.keyring:
        cluster.conf_set("keyring", args.keyring)
    cluster.conf_set(*streams.ZERO_COPY_WRITES)
    cluster.connect()
    return cluster


def open_ioctx(cluster, pool, namespace):
    ioctx = cluster.open_ioctx(pool)
    if namespace:
        ioctx.set_namespace(namespace)
    return ioctx


def binary_stdio(path, output):
    if path != "-":
        return path
    return sys.stdout.buffer if output else sys.stdin.buffer


def run(args):
    default_pool = args.pool or "rbd"
    spec = args.source if args.command in ("export", "export-diff") else args.dest
    if args.command == "import" and spec is None:
        if args.path == "-":
            raise SystemExit("rbd: destination image name must be given when importing from stdin")
        spec = os.path.basename(args.path)
    pool, namespace, image, snap = parse_spec(spec, default_pool, "image")
    if snap is not None and args.command in ("import", "import-diff"):
        raise SystemExit("rbd: snapshot name not allowed in the destination %r" % spec)
    progress = ProgressBar({"export": "Exporting image", "export-diff": "Exporting image",
                            "import": "Importing image", "import-diff": "Importing image diff"}[args.command],
                           not args.no_progress)
    cluster = connect(args)
    ok = False
    try:
        with open_ioctx(cluster, pool, namespace) as ioctx:
            if args.command == "export-diff":
                streams.export_diff(ioctx, image, binary_stdio(args.path, True), snapshot=snap,
                                    from_snapshot=args.from_snap, whole_object=args.whole_object,
                                    on_progress=progress)
            elif args.command == "import-diff":
                streams.import_diff(ioctx, image, binary_stdio(args.path, False), on_progress=progress)
            elif args.command == "export":
                streams.export_image(ioctx, image, binary_stdio(args.path, True), snapshot=snap,
                                     export_format=args.export_format, on_progress=progress)
            else:
                order = args.order
                if args.object_size is not None:
                    order = args.object_size.bit_length() - 1
                features = None
                if args.image_feature:
                    features = 0
                    for name in args.image_feature:
                        features |= FEATURE_NAMES[name]
                streams.import_image(ioctx, image, binary_stdio(args.path, False),
                                     export_format=args.export_format, order=order, features=features,
                                     stripe_unit=args.stripe_unit, stripe_count=args.stripe_count,
                                     on_progress=progress)
            if args.path == "-" and args.command.startswith("export"):
                sys.stdout.buffer.flush()
        ok = True
    finally:
        progress.finish(ok)
        cluster.shutdown()


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except KeyboardInterrupt:
        sys.stderr.write("rbd: %s interrupted\n" % args.command)
        return 130
    except BrokenPipeError:
        # The reader went away: say so once, and keep Python from complaining again when it flushes stdout.
        sys.stderr.write("rbd: %s error: (%d) Broken pipe\n" % (args.command, errno.EPIPE))
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return errno.EPIPE
    except (rbd.Error, rados.Error, OSError) as exc:
        sys.stderr.write("rbd: %s failed: %s\n" % (args.command, exc))
        code = getattr(exc, "errno", None)
        return code if isinstance(code, int) and 0 < code < 256 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
