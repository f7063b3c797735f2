"""The clients module: machine clients, their keys and the challenge-response handshake."""
