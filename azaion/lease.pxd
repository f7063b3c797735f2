# cython: language_level=3
from azaion.cache cimport StateFile
from azaion.device cimport DeviceKeys


# The leases one device keeps beside the cache (`{cache}/.state/lease-*.json`): the server's
# signed lease, the sealed small part it names, and the release statement served with it.
cdef class LeaseStore:
    cdef object root
    cdef str jkt

    @staticmethod
    cdef LeaseStore new(object root, str jkt)
    cdef str device_prefix(self)
    cdef str state_name(self, str folder, str name)
    cdef bint holds_any(self) except -1
    cdef int keep(self, str folder, str name, str lease, bytes sealed, object statement) except -1
    cdef tuple find(self, str folder, str name)


# The latest time this device has seen, signed by its key (and, with a TPM, tied to the TPM's
# monotonic counter), in `{data}/.clock-{account}.json`.
cdef class Clock:
    cdef StateFile state
    cdef DeviceKeys device

    @staticmethod
    cdef Clock new(object data_dir, str account, DeviceKeys device)
    cdef int change(self, bint offline, double now) except -1
    cdef int seen_online(self, double seen) except -1
    cdef int check_offline(self, double now) except -1
    cdef int forget(self) except -1


cdef class ClockChange:
    cdef DeviceKeys device
    cdef bint offline
    cdef double now


cdef dict lease_claims(str token, dict keys)
cdef int check_lease(dict claims, str jkt, str folder, str name, str sealed_sha256) except -1
cdef int check_lease_small(dict claims, bytes small, str version) except -1
cdef int check_lease_time(dict claims, double now) except -1
