# Stub of the compiled azaion.credentials (protected: no docstrings in the binary).

class Credentials:
    """A user's email and password; the password is kept masked in C memory, never as a str."""

    @property
    def email(self) -> str:
        """The email, stripped and lower-cased."""
    def __init__(self, email: str, password: str) -> None: ...

class MachineCredentials(Credentials):
    """A machine client's name and key (the base64 of 32 bytes that ``POST /clients`` returned)."""

    @property
    def client_name(self) -> str:
        """The machine client's name."""
    def __init__(self, client_name: str, key: str) -> None: ...
