"""Folder and file name rules of docs/protocol.md, shared by uploads, downloads and licences."""

from __future__ import annotations

from azaion_server.errors import InvalidName

MAX_NAME_LENGTH = 255
RESERVED_FOLDER = "system"

# Windows device names: a file called `CON` or `nul.txt` cannot be created there, so no client
# cache could hold it.
_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in range(10)}
    | {f"LPT{i}" for i in range(10)}
    | {"COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³"}
)

# Path separators; `:` (drive letters, NTFS streams); `%`, so that no name means one thing raw
# and another URL-decoded (`%2e%2e%2f`).
_FORBIDDEN_CHARACTERS = frozenset("/\\:%")


def is_valid_name(name: str) -> bool:
    """True when `name` may be a folder or a file name (docs/protocol.md, INVALID_NAME)."""
    if not name or len(name) > MAX_NAME_LENGTH:
        return False
    # Windows drops a trailing dot or space, so `a.` and `a ` would name the file `a` there.
    if name[0] in ". " or name[-1] in ". ":
        return False
    if any(ch in _FORBIDDEN_CHARACTERS or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        return False
    stem = name.split(".", 1)[0].rstrip(" ").upper()
    return stem not in _DEVICE_NAMES


def check_name(name: str) -> str:
    """Return `name` unchanged, or raise InvalidName."""
    if not is_valid_name(name):
        raise InvalidName()
    return name


def check_upload_folder(folder: str) -> str:
    """A folder a resource may be uploaded to: a valid name other than the reserved `system`."""
    check_name(folder)
    if folder.lower() == RESERVED_FOLDER:
        raise InvalidName("the folder 'system' is reserved")
    return folder
