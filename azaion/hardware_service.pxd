# cython: language_level=3

cdef class HardwareService:
    cdef str fingerprint
    cdef readonly str hardware_hash
    cdef readonly tuple missing

    cdef str collect(self)
