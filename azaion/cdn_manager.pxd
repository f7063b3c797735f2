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


cdef class CDNManager:
    cdef readonly CDNCredentials creds
    cdef object _downloader
    cdef object transfer_config

    cdef object client(self)
    cdef object open_download(self, str key, Py_ssize_t start)
    cdef object head(self, str key)
    cdef object signed_request(self, object session, str method, str url, object body, tuple timeout, str key)
    cdef int upload(self, dict grant, object session, tuple timeout, ResourceEncryptor source, Py_ssize_t length,
                    object progress, object cache_file, list etags) except -1
    cdef int send_parts(self, list urls, object session, tuple timeout, str key, ResourceEncryptor source,
                        Py_ssize_t length, Py_ssize_t part_size, object progress, object cache_file,
                        list etags) except -1
    cdef int abort(self, dict grant, object session, tuple timeout) except -1
    cdef int delete(self, dict grant, object session, tuple timeout) except -1
    cdef object cdn_error(self, object error, str action, str key)
