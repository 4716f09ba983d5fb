# The status of a compose project's services, in one go: `docker inspect` of its containers, a
# readiness probe of each endpoint (curl or wget on the host, else wget inside the container),
# and the images the host lacks (why a service may have no container).
#
# Usage: status.sh PROJECT WAIT SERVICES [endpoint SERVICE URL INNER_URL]... [image IMAGE]...
#
# SERVICES: the services the project should have, space-separated. URL: where the host reaches
# the endpoint ("" when it is not published); INNER_URL: the same inside its container. With
# WAIT > 0, looks again every second, for up to WAIT seconds, until every service runs, is
# healthy (or has no healthcheck) and answers its probe with 200 or 401 (behind basic auth).
# Prints "@@observatory@@inspect", the JSON, one "@@observatory@@probe SERVICE CODE" line per
# endpoint and one "@@observatory@@noimage IMAGE" per missing image. Exit 70: docker failed.
mark=@@observatory@@
project=$1 wait=$2 services=$3
shift 3

# No `wget -T` in containers: Debian's busybox-static wget crashes with it.
probe() {
    if command -v curl >/dev/null 2>&1; then
        curl -s -o /dev/null -m 5 -w "%{http_code}" "$1"
    elif command -v wget >/dev/null 2>&1; then
        if wget -q -T 5 -O /dev/null "$1"; then echo 200; else echo 000; fi
    else
        echo 000
    fi
}

inner() {
    c=$(docker ps -q --filter "label=com.docker.compose.project=$project" \
        --filter "label=com.docker.compose.service=$1" | head -n 1)
    [ -n "$c" ] || { echo 000; return; }
    if out=$(docker exec "$c" wget -q -O /dev/null "$2" 2>&1); then echo 200; return; fi
    # busybox wget says "server returned error: HTTP/1.1 401 Unauthorized": that answers
    code=$(printf '%s' "$out" | sed -n 's/.*HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' | head -n 1)
    echo "${code:-000}"
}

# "SERVICE CODE" for each endpoint argument.
probe_endpoints() {
    while [ $# -gt 0 ]; do
        case $1 in
        endpoint)
            code=000
            if [ -n "$3" ]; then code=$(probe "$3"); fi
            if [ "$code" = 000 ]; then code=$(inner "$2" "$4"); fi
            echo "$2 $code"
            shift 4
            ;;
        *) shift 2 ;;
        esac
    done
}

look() {
    if ! ids=$(docker ps -aq --filter "label=com.docker.compose.project=$project" 2>&1); then
        printf '%s\n' "$ids" >&2
        exit 70
    fi
    states=
    if [ -n "$ids" ]; then
        # shellcheck disable=SC2086 # container ids: hex words
        states=$(docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' $ids 2>/dev/null)
    fi
    codes=$(probe_endpoints "$@")
}

ready() {
    printf '%s\n' "$states" | awk -v want="$services" '
        $2 == "running" && ($3 == "healthy" || $3 == "none") { up[$1] = 1 }
        END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!(w[i] in up)) exit 1 }' \
        && printf '%s\n' "$codes" | awk 'NF == 2 && $2 != "200" && $2 != "401" { bad = 1 } END { exit bad }'
}

now() { date +%s; }

look "$@"
if [ "$wait" -gt 0 ]; then
    deadline=$(($(now) + wait))
    while ! ready && [ "$(now)" -lt "$deadline" ]; do
        sleep 1
        look "$@"
    done
fi

echo "${mark}inspect"
if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # container ids: hex words
    docker inspect $ids
else
    echo "[]"
fi
printf '%s\n' "$codes" | while read -r service code; do
    [ -n "$service" ] && echo "${mark}probe $service $code"
done
while [ $# -gt 0 ]; do
    case $1 in
    image)
        docker image inspect --format . "$2" >/dev/null 2>&1 || echo "${mark}noimage $2"
        shift 2
        ;;
    *) shift 4 ;;
    esac
done
exit 0
