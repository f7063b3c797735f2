"""The resources module."""
