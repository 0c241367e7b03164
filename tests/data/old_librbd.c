/* A stand-in librbd.so.1 that reports librbd 1.12.0 (Ceph 12.2), older than the module supports
 * (tests/test_loading.py): it has rbd_version only. */
void rbd_version(int *major, int *minor, int *extra)
{
    *major = 1;
    *minor = 12;
    *extra = 0;
}
