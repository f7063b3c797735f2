# cython: language_level=3

cpdef enum RoleEnum:
    NONE = 0
    Operator = 10
    Validator = 20
    ResourceUploader = 30
    Admin = 40
    ApiAdmin = 50


cdef class User:
    cdef readonly str id
    cdef readonly str email
    cdef RoleEnum _role

    @staticmethod
    cdef User new(str id, str email, str role)
