"""PyInstaller hook for azaion.

PyInstaller reads imports from bytecode; it cannot see the imports that the compiled modules
make, most of them inside functions so that ``import azaion`` stays cheap. This lists them.
tests/packaging/test_hook.py keeps the list in step with the imports of azaion/*.pyx.
"""

from PyInstaller.compat import is_win
from PyInstaller.utils.hooks import collect_submodules

# Every module of the package, compiled or not, except this hook's own package and ``__main__``.
hiddenimports = collect_submodules(
    "azaion", filter=lambda name: not name.startswith(("azaion.__pyinstaller", "azaion.__main__"))
)

# What the compiled modules import (at import time or lazily, inside functions).
hiddenimports += [
    # third party: the declared dependencies
    "boto3",
    "boto3.s3.transfer",
    "botocore",
    "botocore.config",
    "botocore.exceptions",
    "s3transfer",
    "cryptography",
    "cryptography.exceptions",
    "cryptography.hazmat.primitives",
    "cryptography.hazmat.primitives.asymmetric",
    "cryptography.hazmat.primitives.asymmetric.utils",
    "cryptography.hazmat.primitives.ciphers.aead",
    "cryptography.hazmat.primitives.asymmetric.ed25519",
    "cryptography.hazmat.primitives.ciphers",
    "cryptography.hazmat.primitives.hashes",
    "cryptography.hazmat.primitives.hmac",
    "cryptography.hazmat.primitives.kdf.hkdf",
    "cryptography.hazmat.primitives.keywrap",
    "cryptography.hazmat.primitives.padding",
    "cryptography.hazmat.primitives.serialization",
    "jwt",
    "jwt.algorithms",
    "platformdirs",
    "requests",
    "requests.adapters",
    "tqdm",
    "urllib3",
    "urllib3.exceptions",
    "urllib3.util.retry",
    "yaml",
    # the optional extra azaion[tpm] (a missing one is only a warning of PyInstaller's)
    "tpm2_pytss",
    "tpm2_pytss.constants",
    # standard library modules that the compiled code alone imports
    "base64",
    "binascii",
    "collections.abc",
    "concurrent.futures",
    "datetime",
    "email.utils",
    "enum",
    "errno",
    "fcntl",
    "functools",
    "hashlib",
    "hmac",
    "importlib.util",
    "io",
    "json",
    "logging",
    "pathlib",
    "platform",
    "random",
    "re",
    "secrets",
    "stat",
    "struct",
    "subprocess",
    "tempfile",
    "threading",
    "time",
    "typing",
    "urllib.parse",
    "uuid",
]
if is_win:
    hiddenimports.append("winreg")
    hiddenimports.append("msvcrt")
