# cython: language_level=3
from azaion.security cimport ResourceEncryptor

cdef class CDNCredentials:
    cdef readonly str host
    cdef readonly str bucket
    cdef readonly str region
    cdef str downloader_access_key
    cdef str downloader_access_secret

    @staticmethod
    cdef CDNCredentials from_yaml(bytes text)


cdef str big_key(str folder, str name, str version)


cdef class Download:
    cdef object body
    cdef str key
    cdef Py_ssize_t length
    cdef Py_ssize_t total

    cdef bytes read(self, Py_ssize_t size)
    cdef int close(self) except -1


cdef class CDNManager:
    cdef readonly CDNCredentials creds
    cdef object _downloader

    @staticmethod
    cdef CDNManager new(CDNCredentials creds)
    cdef object client(self)
    cdef Download open_download(self, str key, Py_ssize_t start)
    cdef Py_ssize_t size(self, str key) except -1
    cdef object signed_request(self, object session, str method, str url, object body, tuple timeout, str key)
    cdef int upload(self, dict grant, object session, tuple timeout, ResourceEncryptor source, Py_ssize_t length,
                    object progress, object cache_file, list etags) except -1
    cdef int send_parts(self, list urls, object session, tuple timeout, str key, ResourceEncryptor source,
                        Py_ssize_t length, Py_ssize_t part_size, object progress, object cache_file,
                        list etags) except -1
    cdef int abort(self, dict grant, object session, tuple timeout) except -1
    cdef int delete(self, dict grant, object session, tuple timeout) except -1
    cdef object cdn_error(self, object error, str action, str key)
