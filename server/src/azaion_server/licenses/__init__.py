"""The licenses module."""
