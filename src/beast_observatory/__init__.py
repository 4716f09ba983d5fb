"""beast-observatory: compose-as-code for a Prometheus + Grafana + Pushgateway observatory."""

__version__ = "0.1.0"
