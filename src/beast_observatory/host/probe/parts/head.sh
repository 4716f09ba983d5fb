# shellcheck shell=sh disable=SC2034,SC2154 # a part: other parts set or read its globals
# beast-observatory discovery probe.
#
# Sent as ONE script, which host/probe/build.py stitches from the parts in this folder (their
# order is build.py's PARTS; the awk programs and docker templates are files of their own).
#
# POSIX sh (dash, bash, busybox ash), run ON THE HOST as `sh -s -- [--dir DIR]...` with this
# script on stdin: one command, one round trip. Needs only what every host has (awk, sed, od,
# find, sort, cut, tr, wc) plus, when present, docker, base64, sha256sum, curl or wget. No
# Python, no jq.
#
# Output: JSON lines on stdout, one record per line ({"k": KIND, ...}), ending with
# {"k":"end"}. beast_observatory.host.probe.parse turns them into the inventory; a record
# cut short (a killed probe) loses only itself. Strings that may hold any byte are sent
# base64-encoded (fields ending in "_b"; hex when the host has no base64).
#
# Secrets never leave the host: values of secret-looking environment variables, labels and
# --flags, secret fields of config files (basic-auth passwords, secureJsonData, grafana.ini
# passwords and keys, .env entries), the password of credentials in URLs
# (scheme://user:PASSWORD@host) and of curl/wget-style `-u user:PASSWORD` / `--user ...` (in
# commands, healthchecks and files) are replaced here by <redacted sha256:XXXXXXXXXXXX> (first
# 12 hex digits of the value's sha256), so a changed secret still shows as a change. Values are
# hashed through a pipe, never on a command line. Files that are a secret whole (anything under
# /run/secrets/, keys, password and token files: secret_file) are never read: only their size
# and sha256 are sent.
#
# Nothing here is fatal: a missing docker, a container gone mid-probe, an unreadable file or a
# silent API becomes a "problem" record or an "error" field.

PROBE_VERSION=2
MAX_FILE_BYTES=1048576
MAX_TREE_FILES=1000
MAX_BODY_BYTES=4194304
NL='
'
US=$(printf '\037')  # field separator of the "@" lines (Go templates: $US)
