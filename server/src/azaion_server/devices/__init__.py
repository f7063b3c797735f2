"""Devices: the key pairs a device enrols (`POST /devices`), their states, and sealing to them."""
