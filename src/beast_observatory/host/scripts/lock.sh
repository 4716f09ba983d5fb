# The host lock, held by this shell for as long as its stdin stays open, and the commands of the
# operation that holds it, run one after the other in this same session.
#
# Usage: sh -c "$(cat lock.sh)" observatory-lock LOCK_FILE HOLDER MARK
#
# Takes an flock on LOCK_FILE (making its directory), writes HOLDER (one line of JSON: who, since
# when) to LOCK_FILE.info so that a second comer can say who holds the lock, prints "acquired",
# then serves commands from stdin until it closes. Closing stdin releases the lock; so does the
# connection dropping, as this shell then ends. Exit 75 with "held <HOLDER>" when someone else
# holds it.
#
# A command comes as a line "ARGC SIZE FLAGS", then ARGC lines with one argument each (a
# backslash written as two, a newline as backslash-n: what printf %b reads), then SIZE bytes that
# are its stdin. FLAGS: "n" starts a batch, "c" continues one; a second letter "s" says that a
# failure of this command skips the rest of the batch. For each command this prints what it
# printed on stdout, a line "MARK rc RC" after a newline, what it printed on stderr, and a line
# "MARK end" after a newline; a skipped command prints a newline and "MARK skipped".
#
# `head -c` reads a command's stdin; some (busybox) read ahead of what they return, so the
# client sends a command with stdin only as the last one before it waits for the answers.
lock=$1 holder=$2 mark=$3
mkdir -p -- "$(dirname -- "$lock")" || exit 73
exec 9>>"$lock" || exit 73
flock -n 9
status=$?
if [ "$status" -eq 1 ]; then
    printf 'held %s\n' "$(cat -- "$lock.info" 2>/dev/null)"
    exit 75
fi
[ "$status" -eq 0 ] || exit "$status"
printf '%s\n' "$holder" >"$lock.info.tmp" && mv -f -- "$lock.info.tmp" "$lock.info"
echo acquired

exec 3>&1  # the commands' stdout; their stderr is kept to be sent after it
stopped=0
while IFS=' ' read -r argc size flags; do
    set --
    while [ "$argc" -gt 0 ]; do
        IFS= read -r arg || exit 74
        arg=$(printf '%bx' "$arg")
        set -- "$@" "${arg%x}"
        argc=$((argc - 1))
    done
    case $flags in n*) stopped=0 ;; esac
    if [ "$stopped" -eq 1 ]; then
        if [ "$size" -gt 0 ]; then head -c "$size" >/dev/null; fi
        printf '\n%s skipped\n' "$mark"
        continue
    fi
    if [ "$size" -gt 0 ]; then
        err=$(head -c "$size" | { "$@" 2>&1 >&3 3>&-; rc=$?; cat >/dev/null; printf x; exit "$rc"; })
    else
        err=$("$@" 2>&1 >&3 3>&- </dev/null; rc=$?; printf x; exit "$rc")
    fi
    rc=$?
    case $flags in ?s) [ "$rc" -eq 0 ] || stopped=1 ;; esac
    printf '\n%s rc %s\n%s\n%s end\n' "$mark" "$rc" "${err%x}" "$mark"
done
rm -f -- "$lock.info"
