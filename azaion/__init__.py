"""azaion: load split-encrypted AI models into memory on edge devices, and publish them.

    >>> from azaion import ApiClient
    >>> with ApiClient("https://api.example.com") as client:
    ...     client.set_credentials_from_dict("operator@example.com", password)
    ...     model = client.load_big_small_resource("detector.onnx", "models")

Importing this package is cheap: boto3, yaml and jwt are imported when first needed.
"""

# First: the one extension of the protected modules registers azaion.security, azaion.api_client
# ... as modules of their own (setup.py), so the imports below and users' imports find them.
from azaion import _protected  # noqa: F401, I001
from azaion import errors
from azaion._version import __version__
from azaion.api_client import ApiClient
from azaion.cdn_manager import CDNCredentials, CDNManager
from azaion.constants import build_info
from azaion.credentials import Credentials, MachineCredentials
from azaion.errors import *  # noqa: F403 - the hierarchy, as errors.__all__ lists it
from azaion.hardware_service import HardwareService
from azaion.releases import Release, TrustedPublishers
from azaion.user import RoleEnum, User

__all__ = [
    # client
    "ApiClient",
    "CDNCredentials",
    "CDNManager",
    "Credentials",
    "HardwareService",
    "MachineCredentials",
    "Release",
    "RoleEnum",
    "TrustedPublishers",
    "User",
    "__version__",
    "build_info",
]
__all__ += errors.__all__
