# cython: language_level=3

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
    cdef int upload(self, str key, object data, object progress) except -1
    cdef object head(self, str key)
    cdef int delete_versions(self, str folder, str name, str keep) except -1
    cdef int delete(self, str key) except -1
    cdef object cdn_error(self, object error, str action, str key)
