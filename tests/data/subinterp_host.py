"""The sub-interpreter host of tests/test_subinterpreters.py without a compiler: the same steps as
subinterp_host.c, through CPython's own sub-interpreter module, for hosts that have no C compiler or Python.h
(a production Ceph host, where the wheel is tested).

    new            create one more sub-interpreter (numbered 1, 2, ...; 0 is this, the main one)
    run K CODE     run the Python source CODE in interpreter K
    end K          end sub-interpreter K

The sub-interpreters are made with the legacy configuration, as Py_NewInterpreter (ceph-mgr's call) makes them:
sharing the main interpreter's GIL, allowed to import single-phase extension modules. After the last step the
sub-interpreters still alive are ended in the order they were created, then the process exits: status 1 if any
step raised ("host: ..." lines on stderr say which), else 0.
"""
import sys
import traceback

try:
    import _interpreters as interpreters   # Python 3.13 and later

    def create():
        return interpreters.create("legacy")

    def run(interpreter, code):
        """None, or the text of the exception the code raised."""
        failure = interpreters.run_string(interpreter, code)
        return None if failure is None else failure.formatted
except ImportError:
    import _xxsubinterpreters as interpreters   # Python 3.11 and 3.12

    def create():
        return interpreters.create(isolated=False)

    def run(interpreter, code):
        try:
            interpreters.run_string(interpreter, code)
        except interpreters.RunFailedError as e:
            return str(e)
        return None


# What Py_EndInterpreter does first (wait for the interpreter's threads, then run its atexit functions): CPython's
# module refuses to end an interpreter that still has a thread (the module's aio dispatcher stops in its exit hook).
ENDING = "import threading, atexit\nthreading._shutdown()\natexit._run_exitfuncs()\n"


def end(interpreter):
    error = run(interpreter, ENDING)
    if error is not None:
        sys.stderr.write(error)
    interpreters.destroy(interpreter)


def main(steps):
    import __main__
    alive, failed, i = [None], False, 0
    while i < len(steps):
        step = steps[i]
        if step == "new":
            alive.append(create())
            i += 1
        elif step == "run" and i + 2 < len(steps):
            k, code = int(steps[i + 1]), steps[i + 2]
            if k == 0:
                try:
                    exec(code, vars(__main__))
                    error = None
                except BaseException:
                    error = traceback.format_exc()
            else:
                error = run(alive[k], code)
            if error is not None:
                sys.stderr.write(error if error.endswith("\n") else error + "\n")
                sys.stderr.write("host: step %d (run in interpreter %d) raised\n" % (i + 1, k))
                failed = True
            sys.stdout.flush()
            i += 3
        elif step == "end" and i + 1 < len(steps):
            end(alive[int(steps[i + 1])])
            alive[int(steps[i + 1])] = None
            i += 2
        else:
            sys.stderr.write("host: bad step %r\n" % step)
            return 2
    for interpreter in alive[1:]:
        if interpreter is not None:
            end(interpreter)
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
