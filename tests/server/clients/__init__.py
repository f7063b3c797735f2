"""Tests of azaion_server.clients."""
