"""azaion_server: the Resource API that the compiled azaion client talks to."""

__version__ = "0.1.0"
