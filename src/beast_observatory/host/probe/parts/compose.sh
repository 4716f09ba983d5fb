# shellcheck shell=sh disable=SC2034,SC2154 # a part: other parts set or read its globals
# ---------------------------------------------------------------- compose

compose_versions() {
    wait "$plugin_pid" 2>/dev/null && plugin=$(sed -n 1p "$tmp/compose-plugin") || plugin=
    standalone=
    if [ -n "$standalone_pid" ] && wait "$standalone_pid" 2>/dev/null; then
        standalone=$(sed -n 1p "$tmp/compose-standalone")
    elif [ -n "$PROJECT" ] && [ -z "$plugin" ] && command -v docker-compose >/dev/null 2>&1; then
        standalone=$(docker-compose version --short 2>/dev/null </dev/null | sed -n 1p)
    fi
    printf '{"k":"compose","plugin_b":%s,"standalone_b":%s}\n' "$(sn "$plugin")" "$(sn "$standalone")"
}

compose_projects() {
    awk -F"$US" '$1 == "@proj" && $2 != "" { print $2 FS $3 FS $4 FS $5 }' "$tmp/side" \
        | LC_ALL=C sort -u >"$tmp/projects"
    while IFS="$US" read -r p_name p_dir p_files p_env; do
        printf '{"k":"project","name_b":"%s","working_dir_b":%s,"config_files_b":%s}\n' \
            "$(s "$p_name")" "$(sn "$p_dir")" "$(sn "$p_files")"
        # A managed project's compose file and .env are the deploy directory's: read there.
        [ "$MANAGED" = true ] && continue
        # config_files is comma-separated; relative entries are relative to working_dir.
        printf '%s\n' "$p_files" | tr ',' '\n' >"$tmp/pfiles"
        if [ -n "$p_env" ]; then
            printf '%s\n' "$p_env" | tr ',' '\n' >>"$tmp/pfiles"
        elif [ -n "$p_dir" ] && [ -f "$p_dir/.env" ]; then
            printf '%s\n' "$p_dir/.env" >>"$tmp/pfiles"
        fi
        while IFS= read -r p_file; do
            [ -n "$p_file" ] || continue
            case "$p_file" in /*) ;; *) p_file="$p_dir/$p_file" ;; esac
            emit_file project "$p_name" "$p_file" "$p_file"
        done <"$tmp/pfiles"
    done <"$tmp/projects"
}
