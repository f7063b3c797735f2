"""The jwt module."""
