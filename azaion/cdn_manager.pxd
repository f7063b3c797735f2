# cython: language_level=3
from azaion.security cimport ResourceEncryptor

cdef class CDNCredentials:
    cdef readonly str host
    cdef readonly str bucket
    cdef readonly str region
    cdef str downloader_access_key
    cdef str downloader_access_secret
    cdef str uploader_access_key
    cdef str uploader_access_secret

    @staticmethod
    cdef CDNCredentials from_yaml(bytes text)


cdef class CDNManager:
    cdef readonly CDNCredentials creds
    cdef object _downloader
    cdef object _uploader
    cdef object transfer_config

    cdef object client(self, bint uploader)
    cdef object open_download(self, str key, Py_ssize_t start)
    cdef int upload(self, str key, ResourceEncryptor source, Py_ssize_t length, object progress,
                    object cache_file) except -1
    cdef int send_parts(self, object client, str key, str upload_id, ResourceEncryptor source, Py_ssize_t length,
                        Py_ssize_t part_size, object progress, object cache_file) except -1
    cdef object head(self, str key)
    cdef int delete_versions(self, str folder, str name, str keep) except -1
    cdef int delete(self, str key) except -1
    cdef object cdn_error(self, object error, str action, str key)
