# SIGHUP to the containers of SERVICE that ran before `docker compose up -d`: Prometheus and
# Alertmanager re-read their configuration, no restart. A container that compose created or
# recreated meanwhile is not among them: it read the new files when it started, and a SIGHUP
# that reached it before its handler was set would end it (a Go program as PID 1 exits 2).
# An id that is gone (recreated) is skipped.
#
# Usage: reload.sh SERVICE ID...
service=$1
shift
for id in "$@"; do
    if docker kill --signal HUP "$id" >/dev/null 2>&1; then
        printf 'reloaded %s %s\n' "$service" "$id"
    else
        printf 'gone %s %s\n' "$service" "$id"
    fi
done
