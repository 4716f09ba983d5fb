# What the stack's Prometheus has loaded: its targets and its rule groups, from its HTTP API:
# on its published host-mode port when this node answers there, else with wget inside its
# task's container, when that container runs on this node (found by its Swarm service name).
#
# Usage: prometheus.sh SERVICE URL INNER_URL   (SERVICE: <project>_<service>; URL "" when
#        not published; both with Prometheus' route prefix)
# Prints "@@observatory-verify@@targets", the targets JSON, "@@observatory-verify@@rules",
# the rules JSON.
mark=@@observatory-verify@@
service=$1 url=$2 inner=$3

get() {
    if [ -n "$url" ] && command -v curl >/dev/null 2>&1; then
        curl -fsS -m 5 "$url$1" 2>/dev/null && return 0
    elif [ -n "$url" ] && command -v wget >/dev/null 2>&1; then
        wget -q -T 5 -O - "$url$1" 2>/dev/null && return 0
    fi
    c=$(docker ps -q --filter "label=com.docker.swarm.service.name=$service" | head -n 1)
    [ -n "$c" ] && docker exec "$c" wget -q -O - "$inner$1" 2>/dev/null
}

echo "${mark}targets"
get /api/v1/targets
echo
echo "${mark}rules"
get /api/v1/rules
echo
exit 0
