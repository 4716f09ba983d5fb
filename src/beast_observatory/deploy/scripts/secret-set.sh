# Set one variable of a deploy directory's .env, the value read from stdin (never an
# argument: no process list shows it). Other lines stay as they are; the file is replaced
# by rename (mode 0600), so a reader sees the old file or the new one.
# Usage: secret-set.sh ENV_FILE NAME   (the value on stdin)
set -eu
env_file=$1; name=$2
value=$(cat)
nl='
'
case "$value" in
    "") echo "the value is empty" >&2; exit 65 ;;
    *"'"*) echo "the value holds a single quote, which .env cannot carry in single quotes" >&2; exit 65 ;;
    *"$nl"*) echo "the value holds a line break, which .env cannot carry" >&2; exit 65 ;;
esac
umask 077
dir=$(dirname "$env_file")
mkdir -p "$dir"
tmp="$dir/.env.tmp-$$"
if [ -f "$env_file" ]; then
    grep -v "^$name=" "$env_file" >"$tmp" || true
else
    : >"$tmp"
fi
printf "%s='%s'\n" "$name" "$value" >>"$tmp"
chmod 600 "$tmp"
mv -f "$tmp" "$env_file"
echo set
