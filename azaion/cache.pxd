# cython: language_level=3
from azaion.cdn_manager cimport CDNManager
from azaion.security cimport ResourceDecryptor


cdef class Directory:
    cdef int fd
    cdef object path

    @staticmethod
    cdef Directory open_root(object path, bint create)
    cdef Directory child(self, str name, bint create)
    cdef CacheFile open_file(self, str name, bint write, int create)
    cdef object identity(self, str name)
    cdef int unlink(self, str name) except -1
    cdef int rename(self, str source, str target) except -1
    cdef int remove_tree(self, str name) except -1
    cdef list names(self)
    cdef int close(self) except -1


cdef class CacheFile:
    cdef object file
    cdef object path

    cdef Py_ssize_t size(self) except -1
    cdef object identity(self)
    cdef Py_ssize_t read_into(self, object view) except -1
    cdef int write(self, object data) except -1
    cdef int truncate(self, Py_ssize_t size) except -1
    cdef int lock(self) except -1
    cdef int close(self) except -1


cdef class BigPartCache:
    cdef object root

    @staticmethod
    cdef BigPartCache new(object root)
    cdef CacheEntry entry(self, str folder, str name)
    cdef int wipe(self) except -1


cdef class CacheEntry:
    cdef str folder
    cdef str name
    cdef BigPartCache cache
    cdef str folder_name
    cdef str file_name
    cdef object seen
    cdef CacheFile lock_file
    cdef tuple writing

    cdef Directory directory(self, bint create)
    cdef bytes read(self, bytes small, object progress)
    cdef int lock(self) except -1
    cdef int unlock(self) except -1
    cdef bytes read_if_replaced(self, bytes small, object progress)
    cdef bytes fetch(self, bytes small, CDNManager cdn, object progress)
    cdef bytes receive(self, Directory directory, str partial, bytes small, CDNManager cdn, object progress)
    cdef object start_write(self)
    cdef int commit_write(self) except -1
    cdef int discard_write(self) except -1


cdef Directory open_state(object root, bint create)
cdef bytes read_state(object root, str name)
cdef int write_state(object root, str name, bytes data) except -1
cdef class StateFile:
    cdef object root
    cdef str name

    @staticmethod
    cdef StateFile new(object root, str name)
    cdef object update(self, object change)
    cdef int remove(self) except -1
