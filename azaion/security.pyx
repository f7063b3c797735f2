# cython: language_level=3
# The protected core: key derivation, the user+hardware envelope and the segmented resource
# format of docs/formats.md. Everything here is cdef; nothing is reachable from Python.
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

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.string cimport memcpy

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

cdef bytes MAGIC = b"AZRS"
cdef int FORMAT_VERSION = 1
cdef int ALGORITHM = 1
cdef int ENVELOPE_VERSION = 1
# Below this a buffer comes from the heap and its pages are mostly there already.
cdef Py_ssize_t HUGE_PAGE_MIN = 8 * 1024 * 1024
cdef bytes ENVELOPE_SALT = b"azaion/envelope/v1"
cdef bytes ENVELOPE_INFO = b"azaion envelope v1: aes-256-cbc + hmac-sha256"
cdef bytes RESOURCE_INFO = b"azaion resource v1"
# Wraps each resource's random key. Not what protects a resource: the wrapped key sits in the
# small part, which only travels inside the user+hardware envelope (docs/formats.md).
cdef bytes SHARED_KEY = bytes.fromhex("80841a9fd2d8144476dbcf4970a2636cb231765c31f7def58a8cb8c22ba2236a")
cdef str INTEGRITY_MESSAGE = (
    "the resource failed its integrity check: it was modified, truncated or replaced, or it "
    "was not encrypted for this account and device; load it again, and if this persists ask "
    "the publisher to upload it again"
)


cdef object integrity_error():
    return IntegrityError(INTEGRITY_MESSAGE)


cdef inline bytes lp(bytes data):
    return struct.pack(">I", len(data)) + data


cdef str hardware_hash(str fingerprint):
    return hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()


cdef str answer_challenge(bytes key, str text, str iv_b64):
    # The registry's handshake (docs/protocol.md): the challenge text, AES-256-CBC with the
    # machine client's registered key and the server's IV, PKCS#7, base64.
    import base64
    import binascii

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


cdef tuple resource_keys(bytes resource_key, bytes salt, str folder, str name):
    info = RESOURCE_INFO + lp(folder.encode("utf-8")) + lp(name.encode("utf-8"))
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=salt, info=info).derive(resource_key)
    return okm[:32], okm[32:]


cdef bytes commitment(bytes commit_key, bytes head):
    mac = crypto_hmac.HMAC(commit_key, hashes.SHA256())
    mac.update(head)
    return mac.finalize()


cdef tuple open_header(object small, str folder, str name):
    # Checks a resource header against its folder and name: (segment size, segment key,
    # nonce prefix), or the integrity error. Run before any cache or CDN access.
    head = bytes(memoryview(small)[:HEADER_LEN])
    if len(head) < HEADER_LEN or head[:4] != MAGIC or head[4] != FORMAT_VERSION or head[5] != ALGORITHM:
        raise integrity_error()
    (segment_size,) = struct.unpack(">I", head[6:10])
    if segment_size < MIN_SEGMENT_SIZE or segment_size > MAX_SEGMENT_SIZE or segment_size & (segment_size - 1):
        raise integrity_error()
    try:
        resource_key = aes_key_unwrap(SHARED_KEY, head[49:89])
    except (InvalidUnwrap, ValueError):
        raise integrity_error() from None
    segment_key, commit_key = resource_keys(resource_key, head[10:42], folder, name)
    if not py_hmac.compare_digest(commitment(commit_key, head[:89]), head[89:HEADER_LEN]):
        raise integrity_error()
    return segment_size, segment_key, head[42:49]


cdef class EnvelopeKeys:

    def __init__(self):
        raise TypeError("EnvelopeKeys is not supposed to be instantiated from Python")

    @staticmethod
    cdef EnvelopeKeys derive(bytes identity, bytes secret, str hardware):
        cdef EnvelopeKeys keys = EnvelopeKeys.__new__(EnvelopeKeys)
        ikm = lp(identity) + lp(secret) + lp(hardware.encode("ascii"))
        okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=ENVELOPE_SALT, info=ENVELOPE_INFO).derive(ikm)
        keys.enc_key = okm[:32]
        keys.mac_key = okm[32:]
        return keys

    cdef bytes open(self, object envelope):
        cdef const unsigned char[::1] data = envelope
        cdef Py_ssize_t n = data.shape[0]
        if n < ENVELOPE_MIN_LEN or (n - 1 - 16 - 32) % 16 != 0 or data[0] != ENVELOPE_VERSION:
            raise integrity_error()
        view = memoryview(envelope)
        mac = crypto_hmac.HMAC(self.mac_key, hashes.SHA256())
        mac.update(view[: n - 32])
        try:
            mac.verify(bytes(view[n - 32 :]))
        except InvalidSignature:
            raise integrity_error() from None
        decryptor = Cipher(algorithms.AES(self.enc_key), modes.CBC(bytes(view[1:17]))).decryptor()
        padded = decryptor.update(view[17 : n - 32]) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        try:
            return unpadder.update(padded) + unpadder.finalize()
        except ValueError:
            raise integrity_error() from None

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
        resource_key = secrets.token_bytes(KEY_LEN)
        salt = secrets.token_bytes(32)
        enc.nonce_prefix = secrets.token_bytes(7)
        segment_key, commit_key = resource_keys(resource_key, salt, folder, name)
        head = (
            MAGIC
            + bytes((FORMAT_VERSION, ALGORITHM))
            + struct.pack(">I", segment_size)
            + salt
            + enc.nonce_prefix
            + aes_key_wrap(SHARED_KEY, resource_key)
        )
        enc.header = head + commitment(commit_key, head)
        enc.aead_key = algorithms.AES(segment_key)
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
        encryptor = Cipher(self.aead_key, modes.GCM(nonce)).encryptor()
        if n:
            encryptor.update_into(plaintext, out)
        encryptor.finalize()
        tag = encryptor.tag
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

    def __repr__(self):
        return "ResourceEncryptor(***)"


cdef class ResourceDecryptor:

    def __init__(self):
        raise TypeError("ResourceDecryptor is not supposed to be instantiated from Python")

    @staticmethod
    cdef ResourceDecryptor new(object small, Py_ssize_t total_len, str folder, str name):
        cdef ResourceDecryptor dec = ResourceDecryptor.__new__(ResourceDecryptor)
        cdef Py_ssize_t out_len, segment_size
        segment_size, segment_key, nonce_prefix = open_header(small, folder, name)
        out_len = plaintext_length(total_len, segment_size)
        if out_len < 0:
            raise integrity_error()
        dec.aead_key = algorithms.AES(segment_key)
        dec.nonce_prefix = nonce_prefix
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
        decryptor = Cipher(self.aead_key, modes.GCM(nonce, tag)).decryptor()
        try:
            if n:
                decryptor.update_into(segment[:n], self.out_view[self.out_pos :])
            decryptor.finalize()
        except InvalidTag:
            self.out = None
            raise integrity_error() from None
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

    def __repr__(self):
        return "ResourceDecryptor(***)"
