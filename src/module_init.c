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

/* build/generated/librbd_bound.c (tools/bind_calls.py): opens librbd and librados and binds the module's calls. */
int rbd_binding_load(char *message, size_t size);

/* The shared module, kept for the life of the process (Cython keeps only a borrowed pointer to it). */
static PyObject *shared_module;

/* Number the module's own classes (its Python classes and exceptions: heap types) from the process-wide
 * counter. From Python 3.12 on each interpreter numbers the heap types it creates (tp_version_tag) with a counter
 * of its own and keys its attribute cache by those numbers: a class the first importer made can carry the number
 * of an unrelated class of another interpreter, which then finds that class's cached attributes on ours (seen on
 * 3.13: ImageNotFound.__init__ looked up as typing._SpecialForm.__init__). Immutable types are numbered from the
 * process-wide counter, so each class is flagged immutable while it gets its number (an attribute lookup assigns
 * it, bases first), then made mutable again, as upstream's classes are (callers' tests patch rbd.RBD). A class
 * changed later is renumbered by the interpreter that changed it: only patched classes lose this guarantee. */
static void number_types_process_wide(PyObject *dict)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *key, *value, *found;
    Py_ssize_t pos;
    int pass;

    /* Pass 0 flags every class and drops its number, pass 1 numbers it, pass 2 clears the flag. */
    for (pass = 0; pass < 3; pass++) {
        pos = 0;
        while (PyDict_Next(dict, &pos, &key, &value)) {
            PyTypeObject *type;
            PyObject *owner;

            if (!PyType_Check(value))
                continue;
            type = (PyTypeObject *)value;
            if (!(type->tp_flags & Py_TPFLAGS_HEAPTYPE))
                continue;
            owner = PyDict_GetItemString(type->tp_dict, "__module__");   /* borrowed: foreign classes stay */
            if (owner == NULL || !PyUnicode_Check(owner) || PyUnicode_CompareWithASCIIString(owner, "rbd") != 0)
                continue;
            if (pass == 0) {
                type->tp_flags |= Py_TPFLAGS_IMMUTABLETYPE;
                PyType_Modified(type);
            } else if (pass == 1) {
                found = PyObject_GetAttrString(value, "__init__");
                Py_XDECREF(found);
                PyErr_Clear();
            } else {
                type->tp_flags &= ~Py_TPFLAGS_IMMUTABLETYPE;
            }
        }
    }
#else
    (void)dict;   /* before 3.12 every type is numbered from one process-wide counter */
#endif
}


PyMODINIT_FUNC PyInit_rbd(void)
{
    PyObject *shared;
    PyModuleDef *def;
    PyObject *module;

    /* Before any of the module's code runs (its body calls librbd): a host without a usable librbd gets one
     * ImportError that says what to install. */
    if (shared_module == NULL) {
        char message[512];
        if (rbd_binding_load(message, sizeof(message)) < 0) {
            PyErr_SetString(PyExc_ImportError, message);
            return NULL;
        }
    }
    shared = rbd_PyInit_shared();
    if (shared == NULL)
        return NULL;
    if (shared_module == NULL) {
        shared_module = shared;   /* takes over the first call's reference */
        number_types_process_wide(PyModule_GetDict(shared_module));
    } else
        Py_DECREF(shared);        /* the same object again, with a new reference */
    def = PyModule_GetDef(shared_module);
    module = def == NULL ? NULL : PyModule_Create(def);
    if (module != NULL && PyDict_Update(PyModule_GetDict(module), PyModule_GetDict(shared_module)) < 0)
        Py_CLEAR(module);
    return module;
}
