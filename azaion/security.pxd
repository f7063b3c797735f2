# cython: language_level=3

# Keys are C arrays, zeroed by __dealloc__: no Python object holds them, gc sees nothing.
cdef class EnvelopeKeys:
    cdef unsigned char keys[64]  # enc_key || mac_key

    @staticmethod
    cdef EnvelopeKeys derive(bytes identity, object secret, str hardware)
    cdef bytes open(self, object envelope)


cdef class ResourceEncryptor:
    cdef bytes header
    cdef unsigned char segment_key[32]
    cdef bytes nonce_prefix
    cdef Py_ssize_t plaintext_len
    cdef Py_ssize_t segment_size
    cdef Py_ssize_t n_segments
    # The ciphertext as a stream (start, read_into): what has been produced, and the one sealed
    # segment that straddles two reads.
    cdef object source
    cdef Py_ssize_t position
    cdef Py_ssize_t next_index
    cdef bytearray scratch
    cdef Py_ssize_t scratch_pos
    cdef Py_ssize_t scratch_len

    @staticmethod
    cdef ResourceEncryptor new(Py_ssize_t plaintext_len, str folder, str name, Py_ssize_t segment_size)
    cdef Py_ssize_t ciphertext_len(self)
    cdef Py_ssize_t seal_segment(self, Py_ssize_t index, object plaintext, unsigned char[::1] out) except -1
    cdef int start(self, object plaintext) except -1
    cdef Py_ssize_t read_into(self, unsigned char[::1] out) except -1
    cdef int release(self) except -1


cdef class ResourceDecryptor:
    cdef object out
    cdef unsigned char[::1] out_view
    cdef unsigned char segment_key[32]
    cdef bytes nonce_prefix
    cdef Py_ssize_t total_len
    cdef Py_ssize_t consumed
    cdef Py_ssize_t segment_size
    cdef Py_ssize_t n_segments
    cdef Py_ssize_t index
    cdef Py_ssize_t out_pos
    cdef bytearray pending
    cdef Py_ssize_t pending_len

    @staticmethod
    cdef ResourceDecryptor new(object small, Py_ssize_t total_len, str folder, str name)
    cdef Py_ssize_t expected_segment_len(self)
    cdef Py_ssize_t read_size(self, Py_ssize_t limit)
    cdef Py_ssize_t read_size_at(self, Py_ssize_t position, Py_ssize_t limit)
    cdef Py_ssize_t segment_step(self)
    cdef Py_ssize_t segment_boundary(self, Py_ssize_t position)
    cdef int feed(self, object chunk) except -1
    cdef int open_segment(self, object segment) except -1
    cdef bytes finish(self)


cdef bytes output_buffer(Py_ssize_t n)
cdef Py_ssize_t segment_read_size(Py_ssize_t position, Py_ssize_t total_len, Py_ssize_t segment_size,
                                  Py_ssize_t limit)
cdef Py_ssize_t ciphertext_length(Py_ssize_t plaintext_len, Py_ssize_t segment_size)
cdef Py_ssize_t plaintext_length(Py_ssize_t total_len, Py_ssize_t segment_size) except -2
cdef Py_ssize_t small_length(Py_ssize_t total_len, int small_kb)
cdef str hardware_hash(str fingerprint)
cdef str answer_challenge(object key, str text, str iv_b64)
cdef object integrity_error()
cdef Py_ssize_t open_header(object small, str folder, str name) except -1
cdef str version_id(object small)
