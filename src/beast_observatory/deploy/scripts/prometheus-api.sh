# What Prometheus has loaded: its active targets and its rule groups, from its HTTP API, on the
# published URL when the host can reach it (curl or wget), else with wget inside its container
# (the project's container with the label LABEL, key=value). No `wget -T` inside containers:
# Debian's busybox-static wget crashes with it.
#
# Usage: prometheus-api.sh PROJECT LABEL URL INNER_URL   (URL: "" when it is not published;
#        both with Prometheus' route prefix, if it has one)
# Prints "@@observatory-verify@@targets", the targets JSON, "@@observatory-verify@@rules", the
# rules JSON.
mark=@@observatory-verify@@
project=$1 label=$2 url=$3 inner=$4

get() {
    if [ -n "$url" ] && command -v curl >/dev/null 2>&1; then
        curl -fsS -m 5 "$url$1" 2>/dev/null && return 0
    elif [ -n "$url" ] && command -v wget >/dev/null 2>&1; then
        wget -q -T 5 -O - "$url$1" 2>/dev/null && return 0
    fi
    c=$(docker ps -q --filter "label=com.docker.compose.project=$project" \
        --filter "label=$label" | head -n 1)
    [ -n "$c" ] && docker exec "$c" wget -q -O - "$inner$1" 2>/dev/null
}

echo "${mark}targets"
get /api/v1/targets  # active and dropped (a relabelling may drop a target as written)
echo
echo "${mark}rules"
get /api/v1/rules
echo
exit 0
