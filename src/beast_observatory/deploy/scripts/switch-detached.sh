# Run switch.sh detached from this session (nohup, in a session of its own where setsid exists,
# its output to LOG, stdin from /dev/null): once begun, it completes on the host whatever
# becomes of the connection or of the shell that started it. Waits for it and prints what it
# said.
#
# Usage: switch-detached.sh SWITCH_SCRIPT LOG LIVE_DIR RELEASE_DIR [REMOVE...]
script=$1 log=$2
shift 2
# A background job of a non-interactive shell leads no process group, so setsid does not fork
# and $! is the switch itself.
if command -v setsid >/dev/null 2>&1; then
    setsid nohup sh -c "$script" switch "$@" >"$log" 2>&1 </dev/null &
else
    nohup sh -c "$script" switch "$@" >"$log" 2>&1 </dev/null &
fi
wait "$!"
rc=$?
cat -- "$log"
exit "$rc"
