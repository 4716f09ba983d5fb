#!/bin/sh
# Discover what runs on vonnegut: one SSH connection, one command, secrets redacted on the host.
# Writes docs/discovery/vonnegut/inventory.json and DISCOVERY.md (see docs/DISCOVERY.md).
#
# Usage: scripts/discover_vonnegut.sh [observatory discover options...]
#   e.g. scripts/discover_vonnegut.sh --ssh-config ~/.ssh/config --out /tmp/vonnegut
set -eu
exec observatory discover --environment remote --host vonnegut "$@"
