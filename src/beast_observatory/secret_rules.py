"""What counts as a secret: one rule set for the spec checks, the probe (its awk is generated
from the word lists here, see host/probe/build.py), export and the masking of plans.

A name is judged word by word, so that SNAKE_CASE variables, snake_case and camelCase keys and
--dotted.flag-names read alike (GF_SECURITY_ADMIN_PASSWORD, smtp_auth_password,
basicAuthPassword, client_secret, bot_token, SSH_KEY, routing_key, api_key...), and a word
inside another word is no secret (MONKEY, TOKENIZER_MODEL).
"""

from __future__ import annotations

import re

# A word holding one of these makes a name secret (tokens, smtppassword)...
SECRET_WORDS = ("password", "passwd", "secret", "token", "credential")
# ... as do these words exactly.
EXACT_WORDS = ("pass",)
KEY_WORDS = ("key", "keys", "apikey", "privatekey", "privkey", "secretkey", "accesskey")
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
ALWAYS_SECRET_PATTERN = r"^http_?header_?value[0-9]*$"

# Values that point at a secret instead of holding it: ${VAR}, ${VAR:-x}, $VAR, Grafana's
# $__env{VAR} / $__file{/path} / $__vault{...}, the probe's redaction marker, Prometheus'
# <secret> placeholder, and an export's FILL-IN-SECRET placeholder.
REFERENCE = re.compile(
    r"^(\$\{?[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}?|\$__(env|file|vault)\{[^}]+\}"
    r"|<redacted( sha256:[0-9a-f]{12})?>|<secret>|FILL-IN-SECRET-([0-9a-f]{12}|unknown))$"
)
# scheme://user:PASSWORD@host: the password of a URL's userinfo (group 2).
URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:\s\"']*:)([^/?#\s\"']*)@")


def words(name: str) -> list[str]:
    """`GF_SECURITY_ADMIN_PASSWORD` -> [gf, security, admin, password]; `basicAuthPassword` ->
    [basic, auth, password]; `--web.config.file` -> [web, config, file]."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
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
    if any(any(s in w for s in SECRET_WORDS) or w in EXACT_WORDS or w in KEY_WORDS for w in parts):
        return True
    # api_key, private_key, access_key, secret_key written as two words
    return any(a in ("api", "private", "access") and b == "key" for a, b in zip(parts, parts[1:], strict=False))


def is_reference(value: object) -> bool:
    """A value that names where a secret is, not the secret: empty, ${VAR}, $__env{...}..."""
    return isinstance(value, str) and (value == "" or bool(REFERENCE.match(value)))


def url_password(value: str) -> str | None:
    """The literal password of a URL's userinfo in value (scheme://user:PASSWORD@host), if any."""
    for m in URL_PASSWORD.finditer(value):
        if m.group(2) and not is_reference(m.group(2)):
            return m.group(2)
    return None
