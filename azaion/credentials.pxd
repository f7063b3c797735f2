# cython: language_level=3

cdef class Credentials:
    cdef readonly str email
    cdef str password

    cdef bytes identity(self)
    cdef bytes secret(self)
    cdef bint is_machine(self)


cdef class MachineCredentials(Credentials):
    cdef readonly str client_name
    cdef bytes key
