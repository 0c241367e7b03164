/* The module's init function, PyInit_rbd, around the one Cython generates (renamed rbd_PyInit_shared by a define
 * in setup.py).
 *
 * The module is shared by every interpreter of the process (see src/helpers/interpreters.pxi): Cython runs its
 * body once, into one dict that all its code uses, and returns the same module object on later calls. That object
 * is never handed to an interpreter. Each import gets a module object of its own, whose dict holds the shared
 * classes, functions and constants. Why: when an interpreter ends, Python clears the dict of every module left in
 * its sys.modules; handing out the shared one would let the first interpreter's end wipe the globals the code of
 * every other interpreter still runs on (upstream's module then fails with "'NoneType' object is not callable").
 *
 * Python calls PyInit_rbd again whenever it dropped its saved copy of the module dict (it does when any
 * interpreter that imported the module ends); each call simply gives out one more module object.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#undef PyInit_rbd
PyMODINIT_FUNC rbd_PyInit_shared(void);

/* The shared module, kept for the life of the process (Cython keeps only a borrowed pointer to it). */
static PyObject *shared_module;

PyMODINIT_FUNC PyInit_rbd(void)
{
    PyObject *shared = rbd_PyInit_shared();
    PyModuleDef *def;
    PyObject *module;

    if (shared == NULL)
        return NULL;
    if (shared_module == NULL)
        shared_module = shared;   /* takes over the first call's reference */
    else
        Py_DECREF(shared);        /* the same object again, with a new reference */
    def = PyModule_GetDef(shared_module);
    module = def == NULL ? NULL : PyModule_Create(def);
    if (module != NULL && PyDict_Update(PyModule_GetDict(module), PyModule_GetDict(shared_module)) < 0)
        Py_CLEAR(module);
    return module;
}
