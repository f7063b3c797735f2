# cython: language_level=3

# The secret (a user's password as UTF-8, or a machine client's key) is kept XOR-masked in
# memory of this object, never as a Python str or bytes: secret() returns a bytearray for one
# use, which its caller wipes (security's derive and answer_challenge do).
cdef class Credentials:
    cdef readonly str email
    cdef unsigned char* masked
    cdef unsigned char* pad
    cdef Py_ssize_t secret_len

    cdef int keep(self, object secret) except -1
    cdef void forget(self)
    cdef bytes identity(self)
    cdef bytearray secret(self)
    cdef str password(self)
    cdef bint same_as(self, Credentials other)
    cdef bint is_machine(self)


cdef class MachineCredentials(Credentials):
    cdef readonly str client_name
