/* A process that hosts Python sub-interpreters the way ceph-mgr does (Py_NewInterpreter, one per module, all
 * sharing the main interpreter's GIL), driven by its arguments so that a test can script what runs where:
 *
 *   new            create one more sub-interpreter (they are numbered 1, 2, ...; 0 is the main one)
 *   run K CODE     run the Python source CODE in interpreter K
 *   end K          end sub-interpreter K (Py_EndInterpreter)
 *
 * After the last step the sub-interpreters still alive are ended in the order they were created (the one that
 * imported a module first goes first; Python 3.11's Py_FinalizeEx aborts if any is left, later versions end them
 * in that order themselves), then the main interpreter is finalized. The exit status is 1 if any step raised, 0 otherwise; "host: ..." lines
 * on stderr say which step failed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INTERPRETERS 64

int main(int argc, char **argv)
{
    PyThreadState *states[MAX_INTERPRETERS] = {0};
    int count = 1, failed = 0, i;

    Py_InitializeEx(0);
    states[0] = PyThreadState_Get();
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "new") == 0) {
            if (count == MAX_INTERPRETERS) {
                fprintf(stderr, "host: too many interpreters\n");
                return 2;
            }
            PyThreadState_Swap(states[0]);
            states[count] = Py_NewInterpreter();
            if (states[count] == NULL) {
                fprintf(stderr, "host: Py_NewInterpreter failed\n");
                return 2;
            }
            count++;
        } else if (strcmp(argv[i], "run") == 0 && i + 2 < argc) {
            int k = atoi(argv[i + 1]);
            if (k < 0 || k >= count || states[k] == NULL) {
                fprintf(stderr, "host: no interpreter %d\n", k);
                return 2;
            }
            PyThreadState_Swap(states[k]);
            if (PyRun_SimpleString(argv[i + 2]) != 0) {
                fprintf(stderr, "host: step %d (run in interpreter %d) raised\n", i, k);
                failed = 1;
            }
            fflush(stdout);
            i += 2;
        } else if (strcmp(argv[i], "end") == 0 && i + 1 < argc) {
            int k = atoi(argv[i + 1]);
            if (k < 1 || k >= count || states[k] == NULL) {
                fprintf(stderr, "host: no sub-interpreter %d\n", k);
                return 2;
            }
            PyThreadState_Swap(states[k]);
            Py_EndInterpreter(states[k]);
            states[k] = NULL;
            i += 1;
        } else {
            fprintf(stderr, "host: bad step '%s'\n", argv[i]);
            return 2;
        }
    }
    for (i = 1; i < count; i++) {
        if (states[i] != NULL) {
            PyThreadState_Swap(states[i]);
            Py_EndInterpreter(states[i]);
        }
    }
    PyThreadState_Swap(states[0]);
    if (Py_FinalizeEx() != 0)
        failed = 1;
    fflush(stdout);
    return failed;
}
