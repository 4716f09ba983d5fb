"""Transports run commands and move files on a host: this machine or one reached over SSH.

The core never imports a transport implementation; commands pick one with ``open_transport``.
"""
