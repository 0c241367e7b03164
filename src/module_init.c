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
 * changed later is renumbered by the interpreter that changed it: only patched classes lose this guarantee.
 *
 * Under the limited API (setup.py, RBD_LIMITED_API) the same is done, with two differences. The Python version is
 * known at run time only (one build serves 3.11 to 3.14). And the limited API has no way to set a type's flags:
 * PyType_GetFlags reads them, PyType_FromSpec sets them once at creation (and Cython's limited-API mode creates
 * its cdef classes mutable, then sets attributes on them, such as __pyx_vtable__, so they cannot be created
 * immutable), and class statements cannot set them at all. So the flags word is written through the head of
 * PyTypeObject (every field up to tp_flags), whose layout has not changed in any CPython 3 of the default build;
 * before it is trusted, the word read through it must equal what PyType_GetFlags returns, for `type`, `object`
 * and each class. If it ever does not, nothing is written and a RuntimeWarning says so. This is the one place the
 * module steps outside the stable ABI (abi3audit cannot see it: no symbol is involved). The module's cdef
 * classes, which the limited-API mode makes heap types, are left immutable afterwards: in the normal build they
 * are static types, immutable, as upstream's are (on 3.11 as well, where the numbering itself changes nothing). */
#ifdef Py_LIMITED_API

typedef struct {
    PyObject ob_base;
    Py_ssize_t ob_size;
    const char *tp_name;
    Py_ssize_t tp_basicsize, tp_itemsize;
    void *tp_dealloc;
    Py_ssize_t tp_vectorcall_offset;
    void *tp_getattr, *tp_setattr, *tp_as_async, *tp_repr, *tp_as_number, *tp_as_sequence, *tp_as_mapping,
         *tp_hash, *tp_call, *tp_str, *tp_getattro, *tp_setattro, *tp_as_buffer;
    unsigned long tp_flags;
} type_head;

#ifndef Py_TPFLAGS_IMMUTABLETYPE
#define Py_TPFLAGS_IMMUTABLETYPE (1UL << 8)
#endif

/* The flags word of `type` as the head layout finds it, or NULL when that is not where PyType_GetFlags reads. */
static unsigned long *flags_word(PyTypeObject *type)
{
    unsigned long *word = &((type_head *)type)->tp_flags;
    return *word == PyType_GetFlags(type) ? word : NULL;
}

/* True for a type a class statement made (its instances are freed by CPython's subtype_dealloc, like those of a
 * class made here on the spot); false for a cdef class (Cython gives each its own dealloc). */
static int made_by_class_statement(PyTypeObject *type, void *class_dealloc)
{
    return PyType_GetSlot(type, Py_tp_dealloc) == class_dealloc;
}

static void number_types_process_wide(PyObject *dict)
{
    PyObject *key, *value, *found, *probe;
    Py_ssize_t pos;
    void *class_dealloc;
    int pass;

    /* Done on 3.11 too (where every type is numbered from one process-wide counter anyway): the cdef classes
     * are to be immutable on every version, as in the normal build. */
    if (flags_word(&PyType_Type) == NULL || flags_word(&PyBaseObject_Type) == NULL)
        goto layout;
    probe = PyObject_CallFunction((PyObject *)&PyType_Type, "s(){}", "rbd_probe");
    if (probe == NULL) {
        PyErr_Clear();
        return;
    }
    class_dealloc = PyType_GetSlot((PyTypeObject *)probe, Py_tp_dealloc);
    Py_DECREF(probe);

    /* Pass 0 checks every class, 1 flags it and drops its number, 2 numbers it, 3 clears the flag (classes made
     * by class statements only). */
    for (pass = 0; pass < 4; pass++) {
        pos = 0;
        while (PyDict_Next(dict, &pos, &key, &value)) {
            PyTypeObject *type;
            PyObject *owner;
            unsigned long *word;
            int ours;

            if (!PyType_Check(value))
                continue;
            type = (PyTypeObject *)value;
            if (!(PyType_GetFlags(type) & Py_TPFLAGS_HEAPTYPE))
                continue;
            /* type.__module__ is read from the class's own dict (a data descriptor of `type`): no number given */
            owner = PyObject_GetAttrString(value, "__module__");
            if (owner == NULL)
                PyErr_Clear();
            ours = owner != NULL && PyUnicode_Check(owner) && PyUnicode_CompareWithASCIIString(owner, "rbd") == 0;
            Py_XDECREF(owner);
            if (!ours)
                continue;
            word = flags_word(type);
            if (pass == 0) {
                if (word == NULL)
                    goto layout;
            } else if (pass == 1) {
                *word |= Py_TPFLAGS_IMMUTABLETYPE;
                PyType_Modified(type);
            } else if (pass == 2) {
                found = PyObject_GetAttrString(value, "__init__");
                Py_XDECREF(found);
                PyErr_Clear();
            } else if (made_by_class_statement(type, class_dealloc)) {
                *word &= ~Py_TPFLAGS_IMMUTABLETYPE;
            }
        }
    }
    return;

layout:
    if (PyErr_WarnEx(PyExc_RuntimeWarning, "rbd: this Python's type objects are not laid out as the module "
                     "expects; its classes are numbered per interpreter, and sub-interpreters may see wrong "
                     "attributes", 1) < 0)
        PyErr_Clear();
}

#else   /* the full API */

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

#endif


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
