# The names (never the values) of the variables a deploy directory's .env sets.
# Usage: secret-names.sh ENV_FILE
env_file=$1
[ -f "$env_file" ] || exit 0
sed -n 's/^[[:space:]]*\(export[[:space:]]\{1,\}\)\{0,1\}\([A-Za-z_][A-Za-z0-9_]*\)=.*/\2/p' "$env_file"
