# Stub of the compiled azaion.cdn_manager (protected: no docstrings in the binary).

class CDNCredentials:
    """Where the big parts are read from: the S3 endpoint, bucket and region of ``cdn.yaml``."""

    @property
    def host(self) -> str:
        """The S3 endpoint URL, without a trailing slash."""
    @property
    def bucket(self) -> str:
        """The bucket of the big parts."""
    @property
    def region(self) -> str:
        """The S3 region."""
    def __init__(
        self,
        host: str,
        downloader_access_key: str,
        downloader_access_secret: str,
        bucket: str = "azaion",
        region: str = "us-east-1",
    ) -> None: ...

class CDNManager:
    """The CDN of one ApiClient, made from the server's ``cdn.yaml``; not made from Python."""

    @property
    def creds(self) -> CDNCredentials:
        """Where it reads from."""
    def __init__(self, *args: object, **kwargs: object) -> None:
        """Raises TypeError: ApiClient makes its CDNManager."""

class Download:
    """A streaming read of a big part (internal); not made from Python."""

    def __init__(self) -> None:
        """Raises TypeError."""
