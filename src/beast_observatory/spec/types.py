"""Building blocks of the spec models: the base model and the value types every kind uses."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Duration = Annotated[
    str,
    StringConstraints(
        pattern=r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$", min_length=2
    ),
    Field(description="A Prometheus duration such as 15s, 5m, 1h30m or 30d."),
]
ByteSize = Annotated[
    str,
    StringConstraints(pattern=r"^\d+(B|KB|MB|GB|TB|PB|EB)$"),
    Field(description="A size with unit, such as 512MB or 50GB."),
]
Name = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", max_length=63)]
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Port = Annotated[int, Field(ge=1, le=65535)]
LabelName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]
ContainerPath = Annotated[str, StringConstraints(pattern=r"^/")]
BCRYPT_RE = re.compile(r"^\$2[aby]?\$\d\d\$[./A-Za-z0-9]{53}$")
# Free-form configuration passed through to a tool's own file (compose, Prometheus, Grafana).
Config = dict[str, Any]


class Model(BaseModel):
    """A spec section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )


class PassThrough(BaseModel):
    """A section of another tool's configuration (a Prometheus scrape config, a Grafana data
    source): the typed fields are those the tool reasons about; every other key is kept and
    written out as it is. Whether such a key exists is the upstream tool's call: the checks
    only warn about keys it does not document (spec/checks.py)."""

    model_config = ConfigDict(
        extra="allow", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )

    def extras(self) -> Config:
        """The keys besides the typed fields, as written."""
        return dict(self.model_extra or {})


class Choice(Model):
    """A choice between alternatives (``env`` or ``file``): an environment override of it
    replaces it whole instead of being merged key by key, or both alternatives would be set."""


class SecretRef(Choice):
    """Where a secret comes from at deploy time: never its value."""

    env: EnvVarName | None = Field(None, description="Environment variable holding the secret.")
    file: str | None = Field(None, description="Path on the host of a file holding the secret.")

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self


class WebAuth(Model):
    """Basic auth through the exporter-toolkit web config file (Prometheus, Pushgateway,
    Alertmanager): a bcrypt hash in the spec, or the name of a variable of the host's .env
    that holds it. Never a password."""

    username: Name
    password_hash: str | None = Field(
        None, description="bcrypt hash, e.g. from `htpasswd -nBC 10 '' | tr -d ':'`."
    )
    password_hash_env: EnvVarName | None = Field(
        None,
        description="Variable of the host's .env holding the bcrypt hash (single-quoted there, "
        "as it contains `$`); the web config is then written inside the container at start.",
    )
    users: dict[Name, str] = Field(default_factory=dict)
    """More users of the web config, each with its bcrypt hash."""
    extra: Config = Field(default_factory=dict)
    """Other settings of the web config file (tls_server_config, http_server_config), as
    exporter-toolkit reads them; secrets only as file paths (key_file)."""

    @model_validator(mode="after")
    def _is_bcrypt(self) -> WebAuth:
        if (self.password_hash is None) == (self.password_hash_env is None):
            raise ValueError("give exactly one of 'password_hash' or 'password_hash_env'")
        hashes = [self.password_hash, *self.users.values()]
        if any(h is not None and not BCRYPT_RE.match(h) for h in hashes):
            raise ValueError(
                "password_hash must be a bcrypt hash ($2b$...), never a clear password"
            )
        return self
