# Files on the host, for the commands served under the host lock (lock.sh).
#
# Usage: files.sh read PATH                 print the file; exit 3 when there is none
#        files.sh write PATH MODE TEMP SIZE  stdin (SIZE bytes) into TEMP beside PATH, made
#                                            with umask 077, given MODE, renamed over PATH
#        files.sh mkdir PATH MODE
#        files.sh remove PATH                (none there is not an error)
#
# A write whose stdin comes short (the connection went away) removes TEMP and leaves PATH as
# it was: a reader sees the old file or the new one, never part of one.
op=$1
shift
case $op in
read)
    if [ -f "$1" ]; then exec cat -- "$1"; fi
    if [ -e "$1" ] || [ -L "$1" ]; then
        echo "$1: not a regular file (or a dangling link)" >&2
        exit 1
    fi
    exit 3
    ;;
write)
    path=$1 mode=$2 size=$4
    tmp=$(dirname -- "$path")/$3
    umask 077
    if ! cat >"$tmp"; then rm -f -- "$tmp"; exit 1; fi
    got=$(wc -c <"$tmp" | tr -d ' ')
    if [ "$got" != "$size" ]; then
        rm -f -- "$tmp"
        echo "$path: $got of $size bytes arrived: the upload was cut short" >&2
        exit 1
    fi
    if ! { chmod "$mode" "$tmp" && mv -f -- "$tmp" "$path"; }; then rm -f -- "$tmp"; exit 1; fi
    ;;
mkdir)  # MODE for the directory itself; its parents get the usual mode
    [ -d "$1" ] && exit 0
    mkdir -p -- "$(dirname -- "$1")" && { mkdir -m "$2" -- "$1" || [ -d "$1" ]; }
    ;;
remove) rm -f -- "$1" ;;
*) echo "files.sh: no operation $op" >&2; exit 2 ;;
esac
