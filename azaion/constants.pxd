# cython: language_level=3

# Sizes of the resource format (docs/formats.md); C-level so the hot loops see plain integers.
cdef enum:
    HEADER_LEN = 121
    TAG_LEN = 16
    KEY_LEN = 32
    DEFAULT_SEGMENT_SIZE = 1048576
    MIN_SEGMENT_SIZE = 4096
    MAX_SEGMENT_SIZE = 4194304
    ENVELOPE_MIN_LEN = 65

cpdef str api_url(object override=*)
cpdef object cache_dir(object override=*)
cpdef int small_size_kb()
cpdef tuple timeouts()
cpdef int max_retries()
cpdef double backoff_factor()
cpdef double retry_after_max()
cpdef int chunk_size()
cpdef int transfer_concurrency()
cpdef object hardware_fingerprint_override()
cpdef object jwks_file()
cpdef dict build_info()
cpdef object trusted_publishers_file()
cpdef object data_dir(object override=*)
cpdef bint legacy_envelope()
cpdef object tpm_tcti()
cpdef bint offline()
