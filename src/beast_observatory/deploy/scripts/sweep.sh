# Remove the temporary files an interrupted upload left in the directories given (the names
# files.sh writes to before renaming: ".<name>.tmp-<random>"), printing each. Runs under the
# host lock: whoever wrote them is gone.
#
# Usage: sweep.sh DIR...
for d do
    [ -d "$d" ] && find "$d" -maxdepth 1 -type f -name '.*.tmp-*' -print -exec rm -f -- {} +
done
exit 0
