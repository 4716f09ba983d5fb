"""What counts as a secret: one rule set for the spec checks, the probe (its awk secret_name()
and secret_under() are generated from the lists here: host/probe/secret_rules_awk.py), export
and the masking of plans.

A name is judged word by word, so that SNAKE_CASE variables, snake_case and camelCase keys and
--dotted.flag-names read alike (GF_SECURITY_ADMIN_PASSWORD, smtp_auth_password,
basicAuthPassword, client_secret, bot_token, SSH_KEY, routing_key, api_key...). A short word
(key, pass) counts only as a word of its own (MONKEY, KEYBOARD and PASSTHROUGH are no
secrets); a long one counts inside a word too, since names are often glued together
(SMTPPASSWORD, mysecrets): that errs on hiding a value, never on showing one (TOKENIZER_MODEL
is hidden).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from itertools import pairwise

# A word holding one of these makes a name secret (tokens, smtppassword)...
SECRET_WORDS = ("password", "passwd", "secret", "token", "credential")
# ... as do these words exactly.
EXACT_WORDS = ("pass",)
KEY_WORDS = ("key", "keys", "apikey", "privatekey", "privkey", "secretkey", "accesskey")
# ... but "pass" after one of these is a proxy's directive to pass requests on (nginx's
# proxy_pass, fastcgi_pass ...: an address, no password).
PASS_ON = ("proxy", "fastcgi", "uwsgi", "scgi", "grpc", "memcached")
# ... as does "key" after one of these (api_key, private_key, access_key as two words).
KEY_QUALIFIERS = ("api", "private", "access")
# ... unless the last word says the value points at the secret or describes it.
NOT_SECRET_LAST = (
    "file", "files", "path", "dir", "name", "user", "username", "url", "uri", "type", "id",
    "ttl", "interval", "enabled", "length", "header", "minutes", "seconds", "days", "expiry",
    "policy", "command", "cmd", "mode", "format", "env", "hash", "count", "size", "limit",
)  # fmt: skip
# Names that are secrets whole whatever their last word says: webhook URLs (Slack, Discord,
# MS Teams), Alertmanager's slack api_url, HTTP header values (a data source's
# httpHeaderValue1, an Authorization header).
ALWAYS_SECRET = ("webhook_url", "webhookurl", "slack_api_url", "authorization")
ALWAYS_SECRET_PATTERN = r"^http_?header_?value[0-9]*$"  # noqa: S105 - a rule, not a secret
# Keys that are secrets under a parent key only (at any depth below it): a Slack receiver's
# api_url is its webhook URL, where another receiver's api_url is the address of a public API.
SECRET_UNDER = {"slack_configs": ("api_url",)}

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)

# Values that point at a secret instead of holding it: ${VAR}, ${VAR:-x}, $VAR, Grafana's
# $__env{VAR} / $__file{/path} / $__vault{...}, the probe's redaction marker, Prometheus'
# <secret> placeholder, and an export's FILL-IN-SECRET placeholder.
# (${VAR:-value} is no reference: its default is the value whenever VAR is unset.)
REFERENCE = re.compile(
    r"^(\$[A-Za-z_][A-Za-z0-9_]*|\$\{[A-Za-z_][A-Za-z0-9_]*(:?\?[^}]*|:?-)?\}|\$__(env|file|vault)\{[^}]+\}"
    r"|<redacted( sha256:[0-9a-f]{12})?>|<secret>|FILL-IN-SECRET-([0-9a-f]{12}|unknown))$"
)
# scheme://user:PASSWORD@host: the password of a URL's userinfo (group 2).
URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:\s\"']*:)([^/?#\s\"']*)@")


def words(name: str) -> list[str]:
    """`GF_SECURITY_ADMIN_PASSWORD` -> [gf, security, admin, password]; `basicAuthPassword` ->
    [basic, auth, password]; `--web.config.file` -> [web, config, file]. Words are ASCII
    letters and digits: anything else parts them (str.lower would make a KELVIN SIGN a k,
    which the probe's awk cannot do alike in every locale)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).translate(_ASCII_LOWER)
    return [w for w in re.split(r"[^a-z0-9]+", snake) if w]


def is_secret_name(name: str) -> bool:
    """Whether a variable, flag, label or configuration key of this name holds a secret."""
    parts = words(name)
    if not parts:
        return False
    joined = "_".join(parts)
    if any(joined.endswith(a) for a in ALWAYS_SECRET) or re.match(ALWAYS_SECRET_PATTERN, joined):
        return True
    if parts[-1] in NOT_SECRET_LAST:
        return False
    for i, w in enumerate(parts):
        if any(s in w for s in SECRET_WORDS) or w in KEY_WORDS:
            return True
        if w in EXACT_WORDS and not (w == "pass" and i and parts[i - 1] in PASS_ON):
            return True
    return any(a in KEY_QUALIFIERS and b == "key" for a, b in pairwise(parts))


def is_secret_key(name: str, parents: Iterable[object] = ()) -> bool:
    """Whether a configuration key of this name, below these parent keys, holds a secret."""
    return is_secret_name(name) or any(name in SECRET_UNDER.get(str(p), ()) for p in parents)


def is_reference(value: object) -> bool:
    """A value that names where a secret is, not the secret: empty, ${VAR}, $__env{...}..."""
    return isinstance(value, str) and (value == "" or bool(REFERENCE.match(value)))


def url_password(value: str) -> str | None:
    """The literal password of a URL's userinfo in value (scheme://user:PASSWORD@host), if any."""
    for m in URL_PASSWORD.finditer(value):
        if m.group(2) and not is_reference(m.group(2)):
            return m.group(2)
    return None
