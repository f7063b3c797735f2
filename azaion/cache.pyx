# cython: language_level=3
# The one owner of the cache of big parts (docs/client.md, Cache): where a big part lives, its
# lock, its partial and temporary files, resume, the hand-off to verification, the atomic commit
# and the eviction of other versions. The cache folder may be shared or planted with links and
# pipes, so every file is opened relative to a folder that is already open and checked, with
# O_NOFOLLOW, and O_NONBLOCK until fstat says it is a regular file of this user; folders are
# created 0700. Every file error becomes CacheError here, in cache_error(), and nothing else
# does: network and CDN errors keep their own classes.
import errno
import logging
import os
import stat
import uuid

from azaion import constants
from azaion.errors import CacheError, CDNError, IntegrityError, NetworkError

from azaion.cdn_manager cimport CDNManager, Download, big_key
from azaion.security cimport ResourceDecryptor, integrity_error, version_id

cache_log = logging.getLogger("azaion")

cdef int NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
cdef int NONBLOCK = getattr(os, "O_NONBLOCK", 0)
cdef int CLOEXEC = getattr(os, "O_CLOEXEC", 0)
cdef int DIRECTORY = getattr(os, "O_DIRECTORY", 0)
cdef int BINARY = getattr(os, "O_BINARY", 0)
# Opens relative to a folder's descriptor (openat and friends) where the system has them, as
# POSIX systems do; elsewhere (Windows, where links need privileges) paths with lstat checks.
cdef bint RELATIVE = (
    os.open in os.supports_dir_fd and os.mkdir in os.supports_dir_fd and os.unlink in os.supports_dir_fd
    and os.rename in os.supports_dir_fd and os.stat in os.supports_dir_fd and os.scandir in os.supports_fd
)
# How open_file treats a missing file.
cdef enum:
    EXISTING = 0  # open it if it is there, else None
    CREATE = 1    # create it if it is missing
    NEW = 2       # create it; it must not exist (O_EXCL)
cdef str PARTIAL = ".partial"
cdef str HEX = "0123456789abcdef"


cdef object cache_error(object path, str reason):
    # The one place where a file problem becomes an exception.
    return CacheError(f"cannot use the cache file {path} ({reason}); free some space, remove it, or set "
                      "AZAION_CACHE_DIR to a writable directory of your own")


cdef object file_error(object error, object path):
    code = error.errno
    if code == errno.ELOOP or code == getattr(errno, "EMLINK", -1) and NOFOLLOW:
        reason = "it is a symbolic link"
    elif code == errno.ENOTDIR:
        reason = "it, or a folder above it, is not a directory"
    elif code == errno.EISDIR:
        reason = "it is a directory"
    else:
        reason = error.strerror or type(error).__name__
    return cache_error(path, reason)


cdef int check(object st, object path, bint directory) except -1:
    # A folder must be a directory and a file a regular file, both of this user.
    if stat.S_ISLNK(st.st_mode):
        raise cache_error(path, "it is a symbolic link")
    if directory and not stat.S_ISDIR(st.st_mode):
        raise cache_error(path, "it is not a directory")
    if not directory and not stat.S_ISREG(st.st_mode):
        raise cache_error(path, "it is not a regular file")
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise cache_error(path, f"it belongs to user {st.st_uid}, not to this one")
    return 0


cdef int read_ahead_depth(Py_ssize_t step):
    # A cold load receives in a second thread (docs/performance.md): the network and the cache
    # file on one core, decryption on the other. Segments the receiver may be ahead: about
    # AZAION_CHUNK_SIZE bytes, at least one.
    return max(1, constants.chunk_size() // step)


cdef str disk_name(str name):
    # A name of up to 255 characters leaves no room on most file systems for the ".big" suffix
    # and the temporary file's; long names are shortened to a prefix and a digest of the whole.
    import hashlib

    encoded = name.encode("utf-8")
    if len(encoded) <= 180:
        return name
    prefix = encoded[:120].decode("utf-8", "ignore")
    return f"{prefix}~{hashlib.sha256(encoded).hexdigest()[:32]}"


cdef bint is_partial_of(str entry, str file_name):
    # `{file_name}.{32 hex digits}.partial`: a partial download of some version of this file
    # (and not of another file whose name starts with this one's).
    cdef Py_ssize_t start = len(file_name) + 1
    if len(entry) != start + 32 + len(PARTIAL) or not entry.startswith(file_name + ".") or not entry.endswith(PARTIAL):
        return False
    # A loop, not all(<generator>): a closure in a cdef function names the function in the binary.
    for c in entry[start : start + 32]:
        if c not in HEX:
            return False
    return True


cdef class Directory:
    # An open folder of the cache, checked; files and folders in it are reached through it.

    def __init__(self):
        raise TypeError("Directory is not supposed to be instantiated from Python")

    def __dealloc__(self):
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass

    @staticmethod
    cdef Directory open_root(object path, bint create):
        # The cache's root, created when asked (0700), or None when it is missing. The folders
        # above it are the user's choice (links included); the root itself is checked as any.
        cdef Directory parent = Directory.__new__(Directory)
        parent.fd = -1
        parent.path = path.parent
        try:
            if create:
                os.makedirs(parent.path, exist_ok=True)
            if RELATIVE:
                parent.fd = os.open(parent.path, os.O_RDONLY | DIRECTORY | CLOEXEC)
        except FileNotFoundError as e:
            if not create:
                return None
            raise file_error(e, path) from None
        except OSError as e:
            raise file_error(e, path) from None
        try:
            return parent.child(path.name, create)
        finally:
            parent.close()

    cdef Directory child(self, str name, bint create):
        cdef Directory folder = Directory.__new__(Directory)
        folder.fd = -1
        folder.path = self.path / name
        try:
            if create:
                try:
                    if RELATIVE:
                        os.mkdir(name, 0o700, dir_fd=self.fd)
                    else:
                        os.mkdir(folder.path, 0o700)
                except FileExistsError:
                    pass
            if RELATIVE:
                folder.fd = os.open(name, os.O_RDONLY | DIRECTORY | NOFOLLOW | CLOEXEC, dir_fd=self.fd)
                st = os.fstat(folder.fd)
            else:
                st = os.lstat(folder.path)
        except FileNotFoundError as e:
            if not create:
                return None
            raise file_error(e, folder.path) from None
        except OSError as e:
            raise file_error(e, folder.path) from None
        check(st, folder.path, True)
        return folder

    cdef CacheFile open_file(self, str name, bint write, int create):
        # A regular file of this user in this folder, or None when it is missing and `create`
        # is EXISTING. O_NONBLOCK: a FIFO planted here opens at once and is refused by fstat.
        cdef CacheFile opened = CacheFile.__new__(CacheFile)
        cdef int flags = (os.O_RDWR if write else os.O_RDONLY) | NOFOLLOW | NONBLOCK | CLOEXEC | BINARY
        cdef int fd = -1
        path = self.path / name
        opened.path = path
        if create == CREATE:
            flags |= os.O_CREAT
        elif create == NEW:
            flags |= os.O_CREAT | os.O_EXCL
        try:
            if RELATIVE:
                fd = os.open(name, flags, 0o600, dir_fd=self.fd)
            else:
                if create != NEW:
                    try:
                        check(os.lstat(path), path, False)
                    except FileNotFoundError:
                        pass
                fd = os.open(path, flags, 0o600)
            st = os.fstat(fd)
        except FileNotFoundError as e:
            if create == EXISTING:
                return None
            raise file_error(e, path) from None
        except OSError as e:
            raise file_error(e, path) from None
        try:
            check(st, path, False)
            if NONBLOCK:
                os.set_blocking(fd, True)
            opened.file = open(fd, "r+b" if write else "rb", buffering=0)
        except BaseException:
            os.close(fd)
            raise
        return opened

    cdef object identity(self, str name):
        # lstat of a name in this folder, or None.
        path = self.path / name
        try:
            if RELATIVE:
                return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
            return os.lstat(path)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise file_error(e, path) from None

    cdef int unlink(self, str name) except -1:
        # Removes a name (a link itself, never what it points to); a missing one is fine.
        try:
            if RELATIVE:
                os.unlink(name, dir_fd=self.fd)
            else:
                os.unlink(self.path / name)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise file_error(e, self.path / name) from None
        return 0

    cdef int rename(self, str source, str target) except -1:
        try:
            if RELATIVE:
                os.rename(source, target, src_dir_fd=self.fd, dst_dir_fd=self.fd)
            else:
                os.replace(self.path / source, self.path / target)
        except OSError as e:
            raise file_error(e, self.path / target) from None
        return 0

    cdef int remove_tree(self, str name) except -1:
        # A name in this folder and, when it is a folder, all below it; links are removed as
        # links, never followed (a planted link to elsewhere loses nothing there).
        cdef Directory folder
        st = self.identity(name)
        if st is None:
            return 0
        if not stat.S_ISDIR(st.st_mode):
            return self.unlink(name)
        folder = self.child(name, False)
        if folder is not None:
            try:
                for inner in folder.names():
                    folder.remove_tree(inner)
            finally:
                folder.close()
        try:
            if RELATIVE:
                os.rmdir(name, dir_fd=self.fd)
            else:
                os.rmdir(self.path / name)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise file_error(e, self.path / name) from None
        return 0

    cdef list names(self):
        try:
            with os.scandir(self.fd if RELATIVE else self.path) as entries:
                return [entry.name for entry in entries]
        except OSError as e:
            raise file_error(e, self.path) from None

    cdef int close(self) except -1:
        if self.fd >= 0:
            fd = self.fd
            self.fd = -1
            os.close(fd)
        return 0


cdef class CacheFile:
    # An open regular file of the cache.

    def __init__(self):
        raise TypeError("CacheFile is not supposed to be instantiated from Python")

    cdef Py_ssize_t size(self) except -1:
        try:
            return os.fstat(self.file.fileno()).st_size
        except OSError as e:
            raise file_error(e, self.path) from None

    cdef object identity(self):
        try:
            st = os.fstat(self.file.fileno())
        except OSError as e:
            raise file_error(e, self.path) from None
        return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)

    cdef Py_ssize_t read_into(self, object view) except -1:
        try:
            return self.file.readinto(view) or 0
        except OSError as e:
            raise file_error(e, self.path) from None

    cdef int write(self, object data) except -1:
        cdef Py_ssize_t done = 0, n
        view = memoryview(data)
        try:
            while done < len(view):
                n = self.file.write(view[done:])
                done += n
        except OSError as e:
            raise file_error(e, self.path) from None
        return 0

    cdef int truncate(self, Py_ssize_t size) except -1:
        try:
            self.file.seek(size)
            self.file.truncate()
        except OSError as e:
            raise file_error(e, self.path) from None
        return 0

    cdef int lock(self) except -1:
        # An exclusive lock for as long as the file is open.
        try:
            try:
                import fcntl
            except ImportError:
                import msvcrt

                while True:
                    try:
                        msvcrt.locking(self.file.fileno(), msvcrt.LK_LOCK, 1)
                        return 0
                    except OSError as e:
                        if e.errno != errno.EDEADLOCK:
                            raise
            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX)
        except OSError as e:
            raise file_error(e, self.path) from None
        return 0

    cdef int close(self) except -1:
        if self.file is not None:
            try:
                self.file.close()
            except OSError as e:
                raise file_error(e, self.path) from None
            finally:
                self.file = None
        return 0


cdef Py_ssize_t feed_file(CacheFile f, ResourceDecryptor dec, Py_ssize_t size, object progress,
                          Py_ssize_t length) except -1:
    # Feeds the first `size` bytes of an open file to the decryptor in segment-aligned reads into
    # one reused buffer; each segment is opened straight from it into the output buffer.
    cdef Py_ssize_t done = 0, want, n
    buffer = bytearray(4 * dec.segment_step())
    view = memoryview(buffer)
    while done < size:
        want = min(dec.read_size(len(buffer)), size - done)
        n = f.read_into(view[:want])
        if not n:
            break
        dec.feed(view[:n])
        done += n
        if progress is not None:
            progress(done, length)
    return done


cdef bytes decrypt_file(CacheFile f, bytes small, str folder, str name, object progress):
    # A reader thread was measured here and gained nothing: page-cache reads are cheap next to
    # first-touching the output (docs/performance.md).
    cdef Py_ssize_t size = f.size()
    cdef ResourceDecryptor dec = ResourceDecryptor.new(small, len(small) + size, folder, name)
    feed_file(f, dec, size, progress, size)
    return dec.finish()


cdef class SegmentReceiver:
    # The read-ahead thread's work, as an object rather than a closure: a closure in a cdef
    # function would put the function's mangled C name into the binary (check_wheel.py).
    cdef Download download
    cdef CacheFile f
    cdef ResourceDecryptor dec
    cdef Py_ssize_t position
    cdef Py_ssize_t step

    def __init__(self):
        raise TypeError("SegmentReceiver is not supposed to be instantiated from Python")

    @staticmethod
    cdef SegmentReceiver new(Download download, CacheFile f, ResourceDecryptor dec, Py_ssize_t position,
                             Py_ssize_t step):
        cdef SegmentReceiver receiver = SegmentReceiver.__new__(SegmentReceiver)
        receiver.download = download
        receiver.f = f
        receiver.dec = dec
        receiver.position = position
        receiver.step = step
        return receiver

    def __call__(self):
        if self.dec is None:
            raise TypeError("an unfinished SegmentReceiver")
        want = self.dec.read_size_at(self.position, self.step)
        if not want:
            return None
        data = self.download.read(want)
        if not data:
            return None
        self.f.write(data)
        self.position += len(data)
        return data


cdef Py_ssize_t stream_into(Download download, CacheFile f, ResourceDecryptor dec, Py_ssize_t small_len,
                            Py_ssize_t done, Py_ssize_t length, object progress) except -1:
    # A second thread receives one segment at a time and appends it to the partial file; this
    # one opens it into the output buffer. Returns the bytes of the big part received in all.
    from azaion._read_ahead import ReadAhead

    cdef Py_ssize_t step = dec.segment_step()
    receive_segment = SegmentReceiver.new(download, f, dec, small_len + done, step)
    ahead = ReadAhead(receive_segment, read_ahead_depth(step))
    try:
        while True:
            data = ahead.next()
            if data is None:
                break
            dec.feed(data)
            done += len(data)
            if progress is not None:
                progress(done, length)
    finally:
        ahead.close()
    return done


cdef class BigPartCache:
    # `{root}/{folder}/{name}.big`, locks in `{root}/.locks/{folder}/{name}.big.lock`.

    def __init__(self):
        raise TypeError("BigPartCache is not supposed to be instantiated from Python")

    @staticmethod
    cdef BigPartCache new(object root):
        cdef BigPartCache cache = BigPartCache.__new__(BigPartCache)
        cache.root = root
        return cache

    cdef CacheEntry entry(self, str folder, str name):
        cdef CacheEntry entry = CacheEntry.__new__(CacheEntry)
        entry.cache = self
        entry.folder = folder
        entry.name = name
        entry.folder_name = disk_name(folder)
        entry.file_name = disk_name(name) + constants.BIG_SUFFIX
        return entry

    cdef int wipe(self) except -1:
        # A revoked device: every big part, partial download and lock, and the leases in
        # `.state`; the rest of `.state` (the server keys this machine trusts) stays.
        cdef Directory root = Directory.open_root(self.root, False)
        cdef Directory state
        if root is None:
            return 0
        try:
            for name in root.names():
                if name != STATE_FOLDER:
                    root.remove_tree(name)
        finally:
            root.close()
        state = open_state(self.root, False)
        if state is not None:
            try:
                for name in state.names():
                    if name.startswith(LEASE_PREFIX):
                        state.unlink(name)
            finally:
                state.close()
        return 0

    def __repr__(self):
        return f"BigPartCache({str(self.root)!r})"


cdef class CacheEntry:
    # One resource's place in the cache, for one load or upload.

    def __init__(self):
        raise TypeError("CacheEntry is not supposed to be instantiated from Python")

    def __repr__(self):
        return f"CacheEntry(folder={self.folder!r}, name={self.name!r})"

    cdef Directory directory(self, bint create):
        cdef Directory root = Directory.open_root(self.cache.root, create)
        if root is None:
            return None
        try:
            return root.child(self.folder_name, create)
        finally:
            root.close()

    cdef bytes read(self, bytes small, object progress):
        # The cached big part, verified against `small`; None when there is none or it does not
        # verify (another version, or damaged). Needs no lock: files only ever appear at the
        # final path by an atomic rename. Remembers which file it read, for read_if_replaced.
        cdef CacheFile f
        cdef Directory directory = self.directory(False)
        self.seen = None
        if directory is None:
            return None
        try:
            f = directory.open_file(self.file_name, False, EXISTING)
        finally:
            directory.close()
        if f is None:
            return None
        try:
            self.seen = f.identity()
            return decrypt_file(f, small, self.folder, self.name, progress)
        except IntegrityError:
            cache_log.info("cached big part of %s/%s is stale or damaged; fetching it again", self.folder, self.name)
            return None
        finally:
            f.close()

    cdef int lock(self) except -1:
        # Downloads, resumes, evictions and commits of one big part happen under this lock, so
        # concurrent loaders download once.
        cdef Directory locks, folder
        cdef Directory root = Directory.open_root(self.cache.root, True)
        try:
            locks = root.child(".locks", True)
            try:
                folder = locks.child(self.folder_name, True)
            finally:
                locks.close()
            try:
                self.lock_file = folder.open_file(self.file_name + ".lock", True, CREATE)
            finally:
                folder.close()
        finally:
            root.close()
        try:
            self.lock_file.lock()
        except BaseException:
            self.unlock()
            raise
        return 0

    cdef int unlock(self) except -1:
        if self.lock_file is not None:
            lock_file = self.lock_file
            self.lock_file = None
            lock_file.close()
        return 0

    cdef bytes read_if_replaced(self, bytes small, object progress):
        # Under the lock: the file another loader committed while this one waited, verified; a
        # file that does not verify is evicted. None when the big part must be fetched.
        cdef CacheFile f
        cdef Directory directory = self.directory(True)
        try:
            f = directory.open_file(self.file_name, False, EXISTING)
            if f is None:
                return None
            try:
                if self.seen is None or f.identity() != self.seen:
                    try:
                        return decrypt_file(f, small, self.folder, self.name, progress)
                    except IntegrityError:
                        pass
            finally:
                f.close()
            directory.unlink(self.file_name)
            return None
        finally:
            directory.close()

    cdef bytes fetch(self, bytes small, CDNManager cdn, object progress):
        # Under the lock: the big part of `small`'s version from the CDN, through a partial file
        # named after the version; partial files of other versions are evicted first.
        cdef Directory directory = self.directory(True)
        partial = f"{self.file_name}.{version_id(small)}{PARTIAL}"
        try:
            for entry in directory.names():
                if entry != partial and is_partial_of(entry, self.file_name):
                    directory.unlink(entry)
            return self.receive(directory, partial, small, cdn, progress)
        finally:
            directory.close()

    cdef bytes receive(self, Directory directory, str partial, bytes small, CDNManager cdn, object progress):
        # Streams the big part into the partial file while decrypting it, so it is verified as it
        # arrives and never held in memory twice; only a complete, verified file is renamed into
        # place. The partial file survives an interrupted download (network, kill -9): the next
        # load re-verifies the whole segments it holds and fetches only the rest.
        cdef ResourceDecryptor dec
        cdef Download download = None
        cdef CacheFile f = None
        cdef Py_ssize_t small_len = len(small), have = 0, done = 0, length
        key = big_key(self.folder, self.name, version_id(small))
        keep = False
        committed = False
        try:
            f = directory.open_file(partial, True, EXISTING)
            if f is not None:
                have = f.size()
            if have:
                length = cdn.size(key)
            else:
                cache_log.info("downloading the big part %s from the CDN", key)
                download = cdn.open_download(key, 0)
                length = download.length
                if f is None:
                    f = directory.open_file(partial, True, NEW)
            dec = ResourceDecryptor.new(small, small_len + length, self.folder, self.name)
            if have:
                # Only whole segments count: the rest of the file is fetched again.
                try:
                    done = feed_file(f, dec, max(0, dec.segment_boundary(small_len + min(have, length)) - small_len),
                                     progress, length)
                except IntegrityError:
                    cache_log.info("the partial download of %s does not verify; starting over", key)
                    dec = ResourceDecryptor.new(small, small_len + length, self.folder, self.name)
                    done = 0
            f.truncate(done)
            if done < length and download is None:
                cache_log.info("resuming the big part %s from the CDN at byte %d of %d", key, done, length)
                download = cdn.open_download(key, done)
                if download.total != length:
                    raise integrity_error()
            if download is not None:
                done = stream_into(download, f, dec, small_len, done, length, progress)
            result = dec.finish()
            f.close()
            directory.rename(partial, self.file_name)
            committed = True
            return result
        except (CDNError, NetworkError):
            keep = True  # what arrived is kept for the next attempt
            raise
        finally:
            if download is not None:
                download.close()
            if f is not None:
                f.close()
            if f is not None and not keep and not committed:  # never what this load did not open
                try:
                    directory.unlink(partial)
                except CacheError:
                    pass

    cdef object start_write(self):
        # The uploader's cache file: a new temporary file beside the final path, renamed into
        # place by commit_write once the API accepted the upload. Returns a buffered writer.
        cdef Directory directory = self.directory(True)
        cdef CacheFile f
        name = f"{self.file_name}.{uuid.uuid4().hex}.incomplete"
        try:
            f = directory.open_file(name, True, NEW)
        except BaseException:
            directory.close()
            raise
        self.writing = (directory, name, f)
        import io

        return io.BufferedWriter(f.file)

    cdef int commit_write(self) except -1:
        cdef Directory directory = self.writing[0]
        cdef CacheFile f = self.writing[2]
        f.close()
        self.lock()
        try:
            existing = directory.identity(self.file_name)
            if existing is not None:
                check(existing, directory.path / self.file_name, False)
            directory.rename(self.writing[1], self.file_name)
        finally:
            self.unlock()
        directory.close()
        self.writing = None
        return 0

    cdef int discard_write(self) except -1:
        if self.writing is None:
            return 0
        cdef Directory directory = self.writing[0]
        cdef CacheFile f = self.writing[2]
        name = self.writing[1]
        self.writing = None
        try:
            f.close()
        except CacheError:
            pass
        try:
            directory.unlink(name)
        except CacheError:
            pass
        directory.close()
        return 0


# -- small state files -------------------------------------------------------------------------
# `{root}/.state/{name}`: what the loader remembers besides big parts (the server keys it trusts);
# read whole, replaced atomically (a unique partial file, then a rename), never followed as a link.

cdef Py_ssize_t MAX_STATE_SIZE = 1024 * 1024
cdef str STATE_FOLDER = ".state"
# The state files of leases (azaion/lease.pyx): what a revoked device's wipe removes from `.state`.
cdef str LEASE_PREFIX = "lease-"


cdef Directory open_state(object root, bint create):
    # `{root}/.state`, or None when it (or the cache) does not exist and `create` is false.
    cdef Directory top = Directory.open_root(root, create)
    if top is None:
        return None
    try:
        return top.child(STATE_FOLDER, create)
    finally:
        top.close()


cdef bytes read_state(object root, str name):
    # The file's bytes, or None when it (or the cache) does not exist.
    cdef Directory folder = open_state(root, False)
    cdef CacheFile f
    if folder is None:
        return None
    try:
        f = folder.open_file(name, False, EXISTING)
    finally:
        folder.close()
    if f is None:
        return None
    try:
        size = f.size()
        if size > MAX_STATE_SIZE:
            raise cache_error(f.path, "it is larger than a state file can be")
        data = bytearray(size)
        if f.read_into(memoryview(data)) != size:
            raise cache_error(f.path, "it changed while being read")
        return bytes(data)
    finally:
        f.close()


cdef int write_state(object root, str name, bytes data) except -1:
    cdef Directory folder = open_state(root, True)
    cdef CacheFile f
    partial = f"{name}.{uuid.uuid4().hex}{PARTIAL}"
    try:
        f = folder.open_file(partial, True, NEW)
        try:
            f.write(data)
        finally:
            f.close()
        folder.rename(partial, name)
    except BaseException:
        folder.unlink(partial)
        raise
    finally:
        folder.close()
    return 0
cdef class StateFile:
    # A small file at a directory's root, changed read-modify-write under an exclusive lock and
    # replaced atomically: the release state of azaion/releases.py (`{data_dir}/.releases.json`,
    # beside the device key store; a dot name, so it meets no folder of big parts either).

    def __init__(self):
        raise TypeError("StateFile is not supposed to be instantiated from Python")

    @staticmethod
    cdef StateFile new(object root, str name):
        cdef StateFile state = StateFile.__new__(StateFile)
        state.root = root
        state.name = name
        return state

    cdef int remove(self) except -1:
        cdef Directory root = Directory.open_root(self.root, False)
        if root is None:
            return 0
        try:
            root.unlink(self.name)
            root.unlink(self.name + ".lock")
        finally:
            root.close()
        return 0

    cdef object update(self, object change):
        # `change(old)` gets the bytes (b"" when there are none) and returns the new bytes, or
        # None to leave the file as it is; it may raise, and then nothing is written.
        cdef Directory root = Directory.open_root(self.root, True)
        cdef CacheFile lock = None
        cdef CacheFile current = None
        cdef CacheFile partial = None
        cdef str temporary = self.name + PARTIAL
        try:
            lock = root.open_file(self.name + ".lock", True, CREATE)
            lock.lock()
            old = bytearray()
            current = root.open_file(self.name, False, EXISTING)
            if current is not None:
                chunk = bytearray(64 * 1024)
                while True:
                    n = current.read_into(chunk)
                    if n == 0:
                        break
                    old += chunk[:n]
                current.close()
            new = change(bytes(old))
            if new is not None:
                root.unlink(temporary)
                partial = root.open_file(temporary, True, NEW)
                partial.write(new)
                try:
                    os.fsync(partial.file.fileno())
                except OSError as e:
                    raise file_error(e, partial.path) from None
                partial.close()
                root.rename(temporary, self.name)
            return new
        finally:
            for opened in (partial, current, lock):
                if opened is not None:
                    opened.close()
            root.close()
