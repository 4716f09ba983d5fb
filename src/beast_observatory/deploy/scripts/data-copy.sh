# The data of a stack copied out of its volumes and host directories, and back in
# (`observatory backup` and `observatory restore`). The copy runs in a throwaway container of an
# image the stack already has (busybox: sh and tar), as root, with that one place mounted and
# no network, so files of every owner are read and written back with their owners. The stack's
# containers that write there are stopped for the copy and started again after it, whatever
# happens: the copy fails, the client goes away, a signal.
#
# Usage: data-copy.sh check IMAGE SOURCE...
#            one line "N STATE" per SOURCE (N counts from 1): missing, notdir, empty or data
#        data-copy.sh out PROJECT IMAGE SOURCE [SERVICE...]
#            SOURCE as a tar on stdout; the copy stops when stdin closes (the client gave up)
#        data-copy.sh in PROJECT IMAGE SOURCE REPLACE [SERVICE...]
#            the tar on stdin into SOURCE: unpacked beside what is there, swapped in once
#            whole; a SOURCE that holds data is refused (exit 65) unless REPLACE is 1
#
# SOURCE is a volume's name, or an absolute host path (it starts with /). SERVICE: compose
# services of PROJECT that write to SOURCE. Their running containers get `docker stop`, so that
# each writes its state out first (Prometheus closes its TSDB, Alertmanager snapshots silences
# and notification log, the Pushgateway its metrics), and `docker start` afterwards.
# Exit 66: SOURCE does not exist; 70: a container could not be stopped; 71: a container could
# not be started again (the ids on stderr); otherwise tar's status.
set -u
op=$1
shift
stopped=
helper=observatory-data-$$

restart() {
    failed=
    for id in $stopped; do
        docker start "$id" >/dev/null 2>&1 || failed="$failed $id"
    done
    stopped=
    if [ -n "$failed" ]; then
        echo "containers not started again:$failed" >&2
        exit 71
    fi
}

stop_writers() {
    project=$1
    shift
    for service in "$@"; do
        ids=$(docker ps -q --filter "label=com.docker.compose.project=$project" \
            --filter "label=com.docker.compose.service=$service") || exit 70
        for id in $ids; do
            stopped="$stopped $id"
            docker stop -t 60 "$id" >/dev/null || exit 70
        done
    done
}

exists() {
    case $1 in
    /*) [ -e "$1" ] ;;
    *) docker volume inspect "$1" >/dev/null 2>&1 ;;
    esac
}

run_helper() {
    docker run --rm --name "$helper" --log-driver none --network none --user 0:0 \
        --entrypoint /bin/sh "$@"
}

# shellcheck disable=SC2016 # the helper's own shell expands these
STATES='for d in /c/*; do
    [ -d "$d" ] || continue
    state=empty
    for e in "$d"/* "$d"/.[!.]* "$d"/..?*; do
        if { [ -e "$e" ] || [ -L "$e" ]; } && [ "${e##*/}" != lost+found ]; then
            state=data
            break
        fi
    done
    echo "${d#/c/} $state"
done'

check() {
    image=$1
    shift
    count=$#
    n=0
    for source in "$@"; do
        n=$((n + 1))
        if ! exists "$source"; then
            echo "$n missing"
        elif [ "${source#/}" != "$source" ] && [ ! -d "$source" ]; then
            echo "$n notdir"
        else
            set -- "$@" -v "$source:/c/$n:ro"
        fi
    done
    shift "$count"
    if [ $# -gt 0 ]; then
        run_helper "$@" "$image" -c "$STATES" || exit 1
    fi
}

out() {
    project=$1 image=$2 source=$3
    shift 3
    if ! exists "$source"; then
        echo "$source: no such volume or directory" >&2
        exit 66
    fi
    stop_writers "$project" "$@"
    # The client closing our stdin means it gave up: end the copy now, not when tar is done.
    exec 3<&0
    { cat <&3; docker rm -f "$helper"; } >/dev/null 2>&1 &
    watcher=$!
    run_helper -v "$source:/v:ro" "$image" -c 'cd /v && exec tar -cf - .'
    status=$?
    kill "$watcher" 2>/dev/null
    return "$status"
}

# shellcheck disable=SC2016 # the helper's own shell expands these
UNPACK='set -eu
replace=$1 staging=.observatory-restore
cd /v
rm -rf "$staging"
if [ "$replace" != 1 ]; then
    for e in * .[!.]* ..?*; do
        if { [ -e "$e" ] || [ -L "$e" ]; } && [ "$e" != lost+found ]; then
            echo "it holds data ($e): not replaced" >&2
            exit 65
        fi
    done
fi
mkdir "$staging"
if ! tar --numeric-owner -xf - -C "$staging"; then
    rm -rf "$staging"
    exit 1
fi
cat >/dev/null
rm -rf "$staging/lost+found"
for e in * .[!.]* ..?*; do
    if { [ -e "$e" ] || [ -L "$e" ]; } && [ "$e" != "$staging" ] && [ "$e" != lost+found ]; then
        rm -rf "$e"
    fi
done
for e in "$staging"/* "$staging"/.[!.]* "$staging"/..?*; do
    if [ -e "$e" ] || [ -L "$e" ]; then mv "$e" .; fi
done
chown "$(stat -c %u:%g "$staging")" .
chmod "$(stat -c %a "$staging")" .
rmdir "$staging"'

into() {
    project=$1 image=$2 source=$3 replace=$4
    shift 4
    stop_writers "$project" "$@"
    run_helper -i -v "$source:/v" "$image" -c "$UNPACK" unpack "$replace" >&2
}

trap restart EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
case $op in
check) check "$@" ;;
out) out "$@" ;;
in) into "$@" ;;
*)
    echo "data-copy.sh: no operation $op" >&2
    exit 2
    ;;
esac
