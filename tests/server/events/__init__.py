"""Tests of azaion_server.events."""
