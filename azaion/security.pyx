# cython: language_level=3
# The protected core: key derivation, the user+hardware envelope and the segmented resource
# format of docs/formats.md. Everything here is cdef; nothing is reachable from Python.
# Built only into azaion._protected (setup.py): the literals given to masked() and the wrapping keys
# come from the generated azaion_secrets.h as shares, recombined into stack buffers that are
# wiped after use. Keys live in C arrays of their objects, never in Python objects that
# gc.get_referents could reach; cryptography's ciphers are made per use over memoryviews of
# those arrays, released before the arrays are wiped.
import hashlib
import hmac as py_hmac
import secrets
import struct

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from cpython.buffer cimport PyBUF_READ, PyBUF_WRITE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.memoryview cimport PyMemoryView_FromMemory
from libc.string cimport memcpy

cdef extern from "azaion_secrets.h":
    void azaion_wipe(void *p, size_t n) nogil
    int azaion_key_slot(int key_id) nogil
    void azaion_wrapping_key_into(int slot, unsigned char *out) nogil
    int azaion_current_key_id() nogil
    int azaion_constant_len(int which) nogil
    void azaion_constant_into(int which, unsigned char *out) nogil

cdef extern from *:
    """
    #if defined(__linux__)
    #include <sys/mman.h>
    #endif
    /* Ask for transparent huge pages over the 2 MiB-aligned inside of a fresh buffer: its first
       touch then costs one fault per 2 MiB instead of one per 4 KiB, which for a large model is
       most of the cost of a load (docs/performance.md). Linux only; a no-op elsewhere. */
    static void azaion_advise_huge_pages(char *p, Py_ssize_t n) {
    #if defined(__linux__) && defined(MADV_HUGEPAGE)
        const uintptr_t huge = (uintptr_t)2 << 20;
        uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
        uintptr_t end = ((uintptr_t)p + (uintptr_t)n) & ~(huge - 1);
        if (end > start)
            (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
    #else
        (void)p;
        (void)n;
    #endif
    }
    """
    void azaion_advise_huge_pages(char *p, Py_ssize_t n) nogil

from azaion.constants cimport (
    DEFAULT_SEGMENT_SIZE,
    ENVELOPE_MIN_LEN,
    HEADER_LEN,
    KEY_LEN,
    MAX_SEGMENT_SIZE,
    MIN_SEGMENT_SIZE,
    TAG_LEN,
)
from azaion.errors import IntegrityError

cdef bytes MAGIC = masked(b"AZRS")
cdef int FORMAT_VERSION = 1
cdef int ALGORITHM = 1
cdef int ENVELOPE_VERSION = 1
# Below this a buffer comes from the heap and its pages are mostly there already.
cdef Py_ssize_t HUGE_PAGE_MIN = 8 * 1024 * 1024
cdef bytes ENVELOPE_SALT = masked(b"azaion/envelope/v1")
cdef bytes ENVELOPE_INFO = masked(b"azaion envelope v1: aes-256-cbc + hmac-sha256")
cdef bytes RESOURCE_INFO = masked(b"azaion resource v1")
cdef str INTEGRITY_MESSAGE = (
    "the resource failed its integrity check: it was modified, truncated or replaced, or it "
    "was not encrypted for this account and device; load it again, and if this persists ask "
    "the publisher to upload it again"
)


cdef object integrity_error():
    return IntegrityError(INTEGRITY_MESSAGE)


cdef bytes unmask(int which):
    # One of the constants given to masked(), recombined from its shares.
    cdef bytes out = PyBytes_FromStringAndSize(NULL, azaion_constant_len(which))
    azaion_constant_into(which, <unsigned char*> PyBytes_AS_STRING(out))
    return out


cdef inline object view_of(unsigned char* p, Py_ssize_t n, bint writable):
    # A memoryview over C memory, for cryptography's calls; released by the caller (release())
    # before the memory is wiped, so no object outlives the bytes it shows.
    return PyMemoryView_FromMemory(<char*> p, n, PyBUF_WRITE if writable else PyBUF_READ)


cdef void wipe_bytes(object data):
    # Overwrites a bytes or bytearray that this module made and no one else holds.
    if isinstance(data, bytearray):
        azaion_wipe(PyByteArray_AS_STRING(data), PyByteArray_GET_SIZE(data))
    elif isinstance(data, bytes) and PyBytes_GET_SIZE(data) > 1:
        azaion_wipe(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


cdef int current_key_id():
    return azaion_current_key_id()


cdef inline bytes lp(bytes data):
    return struct.pack(">I", len(data)) + data


cdef str hardware_hash(str fingerprint):
    return hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()


cdef str answer_challenge(object key, str text, str iv_b64):
    # The registry's handshake (docs/protocol.md): the challenge text, AES-256-CBC with the
    # machine client's registered key (a bytearray, wiped here) and the server's IV, PKCS#7, base64.
    import base64
    import binascii

    try:
        try:
            iv = base64.b64decode(iv_b64, validate=True)
        except (binascii.Error, ValueError):
            iv = b""
        if len(iv) != 16:
            raise integrity_error()
        padder = padding.PKCS7(128).padder()
        padded = padder.update(text.encode("utf-8")) + padder.finalize()
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")
    finally:
        encryptor = None
        wipe_bytes(key)


cdef bytes output_buffer(Py_ssize_t n):
    # A bytes object of n bytes, not yet written, to be filled in place before anyone sees it:
    # the one copy of a resource a load makes. Large ones get huge pages where the OS has them.
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    if n >= HUGE_PAGE_MIN:
        azaion_advise_huge_pages(PyBytes_AS_STRING(out), n)
    return out


cdef Py_ssize_t segment_read_size(Py_ssize_t position, Py_ssize_t total_len, Py_ssize_t segment_size,
                                  Py_ssize_t limit):
    # The length of the next read of a ciphertext from byte `position` (past the header) that
    # ends on a segment boundary: the rest of the current segment and as many whole segments as
    # fit in limit, never past the end.
    cdef Py_ssize_t step = segment_size + TAG_LEN
    cdef Py_ssize_t size = step - (position - HEADER_LEN) % step
    if limit > size:
        size += ((limit - size) // step) * step
    return max(0, min(size, total_len - position))


cdef Py_ssize_t ciphertext_length(Py_ssize_t plaintext_len, Py_ssize_t segment_size):
    cdef Py_ssize_t n = (plaintext_len + segment_size - 1) // segment_size
    if n == 0:
        n = 1
    return HEADER_LEN + plaintext_len + TAG_LEN * n


cdef Py_ssize_t plaintext_length(Py_ssize_t total_len, Py_ssize_t segment_size) except -2:
    # -1: the length cannot be a ciphertext of this format (a truncation or an extension).
    cdef Py_ssize_t body = total_len - HEADER_LEN
    cdef Py_ssize_t step = segment_size + TAG_LEN
    cdef Py_ssize_t full = body // step
    cdef Py_ssize_t rest = body - full * step
    if body < TAG_LEN:
        return -1
    if rest == 0:
        return full * segment_size
    if rest < TAG_LEN or (rest == TAG_LEN and full > 0):
        return -1
    return full * segment_size + rest - TAG_LEN


cdef Py_ssize_t small_length(Py_ssize_t total_len, int small_kb):
    cdef Py_ssize_t small = min(<Py_ssize_t>small_kb * 1024, total_len * 3 // 10)
    return max(<Py_ssize_t>HEADER_LEN, small)


cdef inline bytes segment_nonce(bytes prefix, Py_ssize_t index, bint last):
    return prefix + struct.pack(">IB", index, 1 if last else 0)


cdef int resource_keys(object resource_key, bytes salt, str folder, str name, unsigned char* out) except -1:
    # segment key || commit key (64 bytes) into out.
    info = RESOURCE_INFO + lp(folder.encode("utf-8")) + lp(name.encode("utf-8"))
    okm = view_of(out, 64, True)
    try:
        HKDF(algorithm=hashes.SHA256(), length=64, salt=salt, info=info).derive_into(resource_key, okm)
    finally:
        okm.release()
    return 0


cdef bytes commitment(unsigned char* commit_key, bytes head):
    key = view_of(commit_key, 32, False)
    try:
        mac = crypto_hmac.HMAC(key, hashes.SHA256())
        mac.update(head)
        return mac.finalize()
    finally:
        mac = None
        key.release()


cdef object unwrap_resource_key(int key_id, bytes wrapped):
    # The resource key under the wrapping key of this key id, as a bytearray the caller wipes;
    # the wrapping key exists only in this stack buffer, for the time of the call.
    cdef unsigned char wrapping[32]
    cdef int slot = azaion_key_slot(key_id)
    if slot < 0:
        raise integrity_error()
    azaion_wrapping_key_into(slot, wrapping)
    key = view_of(wrapping, 32, False)
    try:
        unwrapped = aes_key_unwrap(key, wrapped)
    except (InvalidUnwrap, ValueError):
        raise integrity_error() from None
    finally:
        key.release()
        azaion_wipe(wrapping, 32)
    out = bytearray(unwrapped)
    wipe_bytes(unwrapped)
    return out


cdef bytes wrap_resource_key(object resource_key):
    cdef unsigned char wrapping[32]
    azaion_wrapping_key_into(0, wrapping)
    key = view_of(wrapping, 32, False)
    try:
        return aes_key_wrap(key, resource_key)
    finally:
        key.release()
        azaion_wipe(wrapping, 32)


cdef Py_ssize_t open_header_into(object small, str folder, str name, unsigned char* segment_key) except -1:
    # Checks a resource header against its folder and name: its segment size, and its segment
    # key into segment_key (32 bytes), or the integrity error. Run before any cache or CDN access.
    cdef unsigned char okm[64]
    cdef Py_ssize_t segment_size
    head = bytes(memoryview(small)[:HEADER_LEN])
    if len(head) < HEADER_LEN or head[:4] != MAGIC or head[4] != FORMAT_VERSION or head[5] != ALGORITHM:
        raise integrity_error()
    segment_size = (head[7] << 16) | (head[8] << 8) | head[9]
    if segment_size < MIN_SEGMENT_SIZE or segment_size > MAX_SEGMENT_SIZE or segment_size & (segment_size - 1):
        raise integrity_error()
    resource_key = unwrap_resource_key(head[6], head[49:89])
    try:
        resource_keys(resource_key, head[10:42], folder, name, okm)
        if not py_hmac.compare_digest(commitment(&okm[32], head[:89]), head[89:HEADER_LEN]):
            raise integrity_error()
        memcpy(segment_key, okm, 32)
    finally:
        wipe_bytes(resource_key)
        azaion_wipe(okm, 64)
    return segment_size


cdef Py_ssize_t open_header(object small, str folder, str name) except -1:
    # open_header_into without keeping the key: the check before any cache or CDN access.
    cdef unsigned char segment_key[32]
    try:
        return open_header_into(small, folder, name, segment_key)
    finally:
        azaion_wipe(segment_key, 32)


cdef str version_id(object small):
    # The version of a resource: the first 16 bytes of its header's salt, in hex
    # (docs/formats.md). It names the CDN object and the partial download of that version.
    return bytes(memoryview(small)[10:26]).hex()


cdef class EnvelopeKeys:

    def __init__(self):
        raise TypeError("EnvelopeKeys is not supposed to be instantiated from Python")

    @staticmethod
    cdef EnvelopeKeys derive(bytes identity, object secret, str hardware):
        # secret: a bytearray, wiped here once the keys are derived.
        cdef EnvelopeKeys keys = EnvelopeKeys.__new__(EnvelopeKeys)
        ikm = bytearray(lp(identity))
        try:
            ikm += len(secret).to_bytes(4, "big")
            ikm += secret
            ikm += lp(hardware.encode("ascii"))
            okm = view_of(keys.keys, 64, True)
            try:
                HKDF(algorithm=hashes.SHA256(), length=64, salt=ENVELOPE_SALT, info=ENVELOPE_INFO).derive_into(
                    ikm, okm
                )
            finally:
                okm.release()
        finally:
            wipe_bytes(ikm)
            wipe_bytes(secret)
        return keys

    cdef bytes open(self, object envelope):
        cdef const unsigned char[::1] data = envelope
        cdef Py_ssize_t n = data.shape[0]
        if n < ENVELOPE_MIN_LEN or (n - 1 - 16 - 32) % 16 != 0 or data[0] != ENVELOPE_VERSION:
            raise integrity_error()
        view = memoryview(envelope)
        enc_key = view_of(self.keys, 32, False)
        mac_key = view_of(&self.keys[32], 32, False)
        try:
            mac = crypto_hmac.HMAC(mac_key, hashes.SHA256())
            mac.update(view[: n - 32])
            try:
                mac.verify(bytes(view[n - 32 :]))
            except InvalidSignature:
                raise integrity_error() from None
            decryptor = Cipher(algorithms.AES(enc_key), modes.CBC(bytes(view[1:17]))).decryptor()
            padded = decryptor.update(view[17 : n - 32]) + decryptor.finalize()
        finally:
            mac = decryptor = None
            enc_key.release()
            mac_key.release()
        unpadder = padding.PKCS7(128).unpadder()
        try:
            return unpadder.update(padded) + unpadder.finalize()
        except ValueError:
            raise integrity_error() from None

    def __dealloc__(self):
        azaion_wipe(self.keys, 64)

    def __repr__(self):
        return "EnvelopeKeys(***)"

    def __reduce__(self):
        raise TypeError("keys cannot be pickled")


cdef class ResourceEncryptor:

    def __init__(self):
        raise TypeError("ResourceEncryptor is not supposed to be instantiated from Python")

    @staticmethod
    cdef ResourceEncryptor new(Py_ssize_t plaintext_len, str folder, str name, Py_ssize_t segment_size):
        cdef ResourceEncryptor enc = ResourceEncryptor.__new__(ResourceEncryptor)
        cdef unsigned char okm[64]
        resource_key = bytearray(secrets.token_bytes(KEY_LEN))
        salt = secrets.token_bytes(32)
        enc.nonce_prefix = secrets.token_bytes(7)
        try:
            resource_keys(resource_key, salt, folder, name, okm)
            head = (
                MAGIC
                + bytes((FORMAT_VERSION, ALGORITHM, current_key_id()))
                + segment_size.to_bytes(3, "big")
                + salt
                + enc.nonce_prefix
                + wrap_resource_key(resource_key)
            )
            enc.header = head + commitment(&okm[32], head)
            memcpy(enc.segment_key, okm, 32)
        finally:
            wipe_bytes(resource_key)
            azaion_wipe(okm, 64)
        enc.plaintext_len = plaintext_len
        enc.segment_size = segment_size
        enc.n_segments = max(1, (plaintext_len + segment_size - 1) // segment_size)
        return enc

    cdef Py_ssize_t ciphertext_len(self):
        return ciphertext_length(self.plaintext_len, self.segment_size)

    cdef Py_ssize_t seal_segment(self, Py_ssize_t index, object plaintext, unsigned char[::1] out) except -1:
        # Encrypts one segment straight into out (at least len(plaintext) + TAG_LEN bytes).
        cdef Py_ssize_t n = len(plaintext)
        nonce = segment_nonce(self.nonce_prefix, index, index == self.n_segments - 1)
        key = view_of(self.segment_key, 32, False)
        try:
            encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
            if n:
                encryptor.update_into(plaintext, out)
            encryptor.finalize()
            tag = encryptor.tag
        finally:
            encryptor = None
            key.release()
        memcpy(&out[n], PyBytes_AS_STRING(tag), TAG_LEN)
        return n + TAG_LEN

    cdef int start(self, object plaintext) except -1:
        # Starts the ciphertext stream of plaintext (its length as given to new()) from byte 0.
        source = memoryview(plaintext).cast("B")
        if source.nbytes != self.plaintext_len:
            raise ValueError("the plaintext is not the length the encryptor was made for")
        self.source = source
        self.position = 0
        self.next_index = 0
        self.scratch_pos = 0
        self.scratch_len = 0
        return 0

    cdef Py_ssize_t read_into(self, unsigned char[::1] out) except -1:
        # The next bytes of the ciphertext into out, which is filled unless the stream ends first;
        # returns how many. Segments are sealed as they are reached, straight into out when they
        # fit, so an upload never holds the whole ciphertext.
        cdef Py_ssize_t n = out.shape[0], pos = 0, take, first, plain_len, sealed_len
        cdef Py_ssize_t total = self.ciphertext_len()
        cdef unsigned char[::1] scratch
        cdef const unsigned char* head = <const unsigned char*> PyBytes_AS_STRING(self.header)
        if self.source is None:
            raise ValueError("start() was not called")
        while pos < n and self.position < total:
            if self.position < HEADER_LEN:
                take = min(n - pos, HEADER_LEN - self.position)
                memcpy(&out[pos], head + self.position, take)
            elif self.scratch_pos < self.scratch_len:
                take = min(n - pos, self.scratch_len - self.scratch_pos)
                scratch = self.scratch
                memcpy(&out[pos], &scratch[self.scratch_pos], take)
                self.scratch_pos += take
            else:
                first = self.next_index * self.segment_size
                plain_len = min(self.segment_size, self.plaintext_len - first)
                sealed_len = plain_len + TAG_LEN
                chunk = self.source[first : first + plain_len]
                if n - pos >= sealed_len:
                    self.seal_segment(self.next_index, chunk, out[pos:])
                    take = sealed_len
                else:
                    if self.scratch is None:
                        self.scratch = bytearray(self.segment_size + TAG_LEN)
                    self.seal_segment(self.next_index, chunk, self.scratch)
                    self.scratch_pos = 0
                    self.scratch_len = sealed_len
                    take = 0
                self.next_index += 1
            pos += take
            self.position += take
        return pos

    cdef int release(self) except -1:
        # Drops the reference to the plaintext once the stream is no longer needed.
        self.source = None
        return 0

    def __dealloc__(self):
        azaion_wipe(self.segment_key, 32)

    def __repr__(self):
        return "ResourceEncryptor(***)"


cdef class ResourceDecryptor:

    def __init__(self):
        raise TypeError("ResourceDecryptor is not supposed to be instantiated from Python")

    @staticmethod
    cdef ResourceDecryptor new(object small, Py_ssize_t total_len, str folder, str name):
        cdef ResourceDecryptor dec = ResourceDecryptor.__new__(ResourceDecryptor)
        cdef Py_ssize_t out_len, segment_size
        segment_size = open_header_into(small, folder, name, dec.segment_key)
        out_len = plaintext_length(total_len, segment_size)
        if out_len < 0:
            raise integrity_error()
        dec.nonce_prefix = bytes(memoryview(small)[42:49])
        dec.segment_size = segment_size
        dec.total_len = total_len
        dec.n_segments = max(1, (out_len + segment_size - 1) // segment_size)
        dec.consumed = HEADER_LEN
        dec.out = output_buffer(out_len)
        if out_len:
            dec.out_view = <unsigned char[:out_len]> <unsigned char*> PyBytes_AS_STRING(dec.out)
        dec.pending = bytearray(segment_size + TAG_LEN)
        dec.feed(memoryview(small)[HEADER_LEN:])
        return dec

    cdef Py_ssize_t expected_segment_len(self):
        if self.index < self.n_segments - 1:
            return self.segment_size + TAG_LEN
        return self.total_len - HEADER_LEN - self.index * (self.segment_size + TAG_LEN)

    cdef Py_ssize_t read_size(self, Py_ssize_t limit):
        # How much to read next so that reads end on segment boundaries (then feed() opens
        # every segment straight from the caller's buffer).
        return segment_read_size(self.consumed, self.total_len, self.segment_size, limit)

    cdef Py_ssize_t read_size_at(self, Py_ssize_t position, Py_ssize_t limit):
        # The same for a reader ahead of the decryptor, at `position` of the ciphertext.
        return segment_read_size(position, self.total_len, self.segment_size, limit)

    cdef Py_ssize_t segment_step(self):
        return self.segment_size + TAG_LEN

    cdef Py_ssize_t segment_boundary(self, Py_ssize_t position):
        # The last segment boundary of the ciphertext at or before `position` (the end counts).
        cdef Py_ssize_t step = self.segment_size + TAG_LEN
        if position >= self.total_len:
            return self.total_len
        if position <= HEADER_LEN:
            return HEADER_LEN
        return HEADER_LEN + ((position - HEADER_LEN) // step) * step

    cdef int feed(self, object chunk) except -1:
        # Takes the next bytes of the ciphertext; whole segments are opened at once, straight
        # from the caller's buffer when they lie in it, so a big read costs no extra copy.
        cdef const unsigned char[::1] data = memoryview(chunk).cast("B")
        cdef Py_ssize_t n = data.shape[0], pos = 0, need, take
        cdef unsigned char[::1] pending = self.pending
        if self.consumed + n > self.total_len:
            raise integrity_error()
        self.consumed += n
        view = memoryview(chunk).cast("B")
        while pos < n:
            need = self.expected_segment_len()
            if self.pending_len == 0 and n - pos >= need:
                self.open_segment(view[pos : pos + need])
                pos += need
                continue
            take = min(need - self.pending_len, n - pos)
            memcpy(&pending[self.pending_len], &data[pos], take)
            self.pending_len += take
            pos += take
            if self.pending_len == need:
                self.open_segment(memoryview(self.pending)[:need])
                self.pending_len = 0
        return 0

    cdef int open_segment(self, object segment) except -1:
        cdef Py_ssize_t n = len(segment) - TAG_LEN
        nonce = segment_nonce(self.nonce_prefix, self.index, self.index == self.n_segments - 1)
        tag = bytes(segment[n:])
        key = view_of(self.segment_key, 32, False)
        try:
            decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce, tag)).decryptor()
            if n:
                decryptor.update_into(segment[:n], self.out_view[self.out_pos :])
            decryptor.finalize()
        except InvalidTag:
            self.out = None
            raise integrity_error() from None
        finally:
            decryptor = None
            key.release()
        self.out_pos += n
        self.index += 1
        return 0

    cdef bytes finish(self):
        if self.consumed != self.total_len or self.index != self.n_segments or self.out is None:
            self.out = None
            raise integrity_error()
        out = self.out
        self.out = None
        self.out_view = None
        return out

    def __dealloc__(self):
        azaion_wipe(self.segment_key, 32)

    def __repr__(self):
        return "ResourceDecryptor(***)"
