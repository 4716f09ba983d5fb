# shellcheck shell=sh disable=SC2034,SC2154 # a part: other parts set or read its globals
# ---------------------------------------------------------------- redaction (awk)

# Modes: records (docker inspect lines; also diverts "@" lines to the file in $side),
# ini (grafana.ini, .env), json, httpd (busybox httpd.conf: /path:user:password lines),
# yaml (everything else).
redact() {
    awk -v mode="$1" -v sha="$SHA" -v hashfile="$tmp/hash" -v side="$2" "$REDACT_AWK"
}

mode_for() {
    case "$1" in
        */httpd.conf|httpd.conf) echo httpd ;;
        *.ini|*.cfg|*.conf|*.env|*/.env.*|.env.*|*.properties) echo ini ;;
        *.json) echo json ;;
        *) echo yaml ;;
    esac
}

# The redactor: parts/redact.awk, after secret_name() and secret_under(), which build.py
# writes from beast_observatory/secret_rules.py (the one rule of what a secret's name is).
REDACT_AWK=$(cat <<'AWK'
#@insert secret_rules.awk
#@insert redact.awk
AWK
)
