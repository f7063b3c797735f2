# cython: language_level=3
from azaion.cache cimport BigPartCache, CacheEntry, StateFile
from azaion.cdn_manager cimport CDNManager
from azaion.credentials cimport Credentials
from azaion.device cimport DeviceKeys
from azaion.hardware_service cimport HardwareService
from azaion.lease cimport Clock, LeaseStore
from azaion.security cimport EnvelopeKeys
from azaion.user cimport User


cdef class ServerKeys:
    cdef object root
    cdef str state_name
    cdef dict keys
    cdef long long issued_at
    cdef str anchor

    @staticmethod
    cdef ServerKeys load(object root, str api_url, object configured)
    cdef bint pinned(self)
    cdef bint knows(self, object kid)
    cdef int save(self) except -1
    cdef bint adopt(self, object signed, bint first) except -1
    cdef object verify(self, str token)


cdef class ApiClient:
    cdef readonly Credentials credentials
    cdef readonly User user
    cdef readonly str token
    cdef readonly CDNManager cdn_manager
    cdef readonly str api_url
    cdef readonly object cache_dir
    cdef object session
    cdef HardwareService hardware
    cdef EnvelopeKeys envelope_keys
    cdef object public_key
    cdef object configured_jwks
    cdef ServerKeys server_keys
    cdef tuple timeout
    cdef BigPartCache big_parts
    # Signed releases (azaion/releases.py): whom this device trusts, the highest versions it
    # accepted, the statement served with the last small part, and the last release verified.
    cdef object trusted
    cdef StateFile release_state
    cdef object served_statement
    cdef readonly object last_release
    cdef readonly object data_dir
    cdef DeviceKeys device
    cdef long device_id
    cdef bint legacy
    # Offline loads (azaion/lease.pyx): AZAION_OFFLINE, the leases beside the cache, the clock's mark.
    cdef readonly bint offline
    cdef LeaseStore lease_store
    cdef Clock clock

    cpdef set_credentials_from_dict(self, str email, str password, bint load_cdn=*)
    cdef set_credentials(self, Credentials credentials)
    cpdef login(self)
    cdef set_token(self, str token)
    cdef ServerKeys trusted_keys(self)
    cdef object signed_jwks(self)
    cdef object verified_claims(self, str token)
    cdef object request(self, str method, str url, object payload, bint is_stream)
    cdef object send(self, str method, str url, object payload, bint is_stream, bint authenticated)
    cdef bytes load_bytes(self, str filename, str folder)
    cdef upload_file(self, str filename, bytes resource, str folder, str category=*, bint draft=*,
                     bytes statement=*)
    cdef object check_statement(self, str folder, str name)
    cdef bytes accept_release(self, str folder, str name, bytes data)
    cdef bytes load_big_file_cdn(self, CacheEntry entry, bytes small, object progress)
    cpdef bytes load_big_small_resource(self, str resource_name, str folder, object progress=*)
    cpdef upload_big_small_resource(self, bytes resource, str resource_name, str folder, object progress=*,
                                    str category=*, bint draft=*, object signing_key=*)

    cdef int handshake(self) except -1
    cdef object json_of(self, object response)
    cdef str resource_path(self, str folder, str name)
    cdef HardwareService hardware_service(self)
    cdef EnvelopeKeys keys(self)
    cdef CDNManager cdn(self)
    cdef DeviceKeys device_keys(self)
    cdef long enrolled_device(self) except -1
    cdef dict proof_headers(self, str method, str url, bint authenticated)
    cdef int raise_for(self, object response) except -1
    cdef int wipe_revoked(self) except -1
    cdef int own_device(self, dict data) except -1
    cdef str account(self)
    cdef object key_store_path(self)
    cdef bint has_device_keys(self)
    cdef bint keeps_leases(self)
    cdef LeaseStore leases(self)
    cdef Clock device_clock(self)
    cdef int keep_lease(self, str folder, str name, str lease, bytes sealed, bytes small, str version,
                        object date) except -1
    cdef bytes load_offline(self, str folder, str name, object progress, object why)
