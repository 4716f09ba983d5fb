# shellcheck shell=sh disable=SC2034,SC2154 # a part: other parts set or read its globals
# ---------------------------------------------------------------- docker

# One docker inspect for all containers (parts/container.tmpl). Env, labels and arguments
# (entrypoint, cmd and the healthcheck's test) come one per line (so the redactor sees each
# value alone); "@" lines feed the rest of this script and never leave.
CONTAINER_TEMPLATE=$(cat <<'EOF'
#@insert container.tmpl
EOF
)

# An image's own defaults, which its containers inherit (parts/image.tmpl): export leaves out
# what the image already says (its environment, user, labels, exposed ports, command).
IMAGE_TEMPLATE=$(cat <<'EOF'
#@insert image.tmpl
EOF
)

probe_docker() {
    if ! command -v docker >/dev/null 2>&1; then
        printf '{"k":"docker","available":false,"error_b":"%s"}\n' "$(s "docker: command not found")"
        return 1
    fi
    if ! ver=$(docker version --format '{{.Server.Version}}' 2>"$tmp/err") || [ -z "$ver" ]; then
        msg=$(grep -v '^ *$' "$tmp/err" | tail -n 1 | cut -c1-300)
        printf '{"k":"docker","available":false,"error_b":"%s"}\n' "$(s "${msg:-docker version failed}")"
        return 1
    fi
    printf '{"k":"docker","available":true,"server_version_b":%s}\n' "$(sn "$ver")"
    # docker-compose v1 is a Python program that takes half a second to say its version: ask
    # both flavours in the background while the rest of the probe runs (compose_versions).
    # For one project (plan, apply), v1 is asked only when there is no plugin: it is used
    # only then, and on a small host it would slow the probe down.
    docker compose version --short >"$tmp/compose-plugin" 2>/dev/null </dev/null &
    plugin_pid=$!
    if [ -z "$PROJECT" ] && command -v docker-compose >/dev/null 2>&1; then
        docker-compose version --short >"$tmp/compose-standalone" 2>/dev/null </dev/null &
        standalone_pid=$!
    else
        standalone_pid=
    fi
    return 0
}

inspect_containers() {
    : >"$tmp/side"
    # One `docker ps` for the ids to inspect and, with --project, the host's other containers
    # by name only: what the plan says it leaves alone.
    if ! docker ps -a --no-trunc --format "{{.ID}}$US{{.Names}}$US{{.Label \"com.docker.compose.project\"}}" \
        >"$tmp/ps" 2>"$tmp/err"; then
        problem "docker ps: $(first_line "$tmp/err")"
        return
    fi
    awk -F"$US" -v p="$PROJECT" 'p == "" || $3 "" == p "" { print $1 }' "$tmp/ps" >"$tmp/ids"
    if [ -n "$PROJECT" ]; then
        awk -F"$US" -v p="$PROJECT" '$3 "" != p "" { print $2 }' "$tmp/ps" | LC_ALL=C sort -u >"$tmp/others"
        while IFS= read -r o_name; do
            printf '{"k":"other","name_b":"%s"}\n' "$(s "$o_name")"
        done <"$tmp/others"
    fi
    [ -s "$tmp/ids" ] || return
    # shellcheck disable=SC2046 # ids are hex words
    docker inspect --type container --format "$CONTAINER_TEMPLATE" $(cat "$tmp/ids") 2>"$tmp/err" \
        | redact records "$tmp/side"
    # A container removed between `ps` and `inspect` is only named on stderr.
    while IFS= read -r line; do
        [ -n "$line" ] && problem "docker inspect: $line (the container went away during the probe)"
    done <"$tmp/err"
    awk -F"$US" '$1 == "@svc" { print $5 }' "$tmp/side" | LC_ALL=C sort -u >"$tmp/images"
    if [ -s "$tmp/images" ]; then
        # shellcheck disable=SC2046
        docker image inspect --format "$IMAGE_TEMPLATE" $(cat "$tmp/images") 2>"$tmp/err" \
            | redact records "$tmp/side-images"
        [ -s "$tmp/err" ] && problem "docker image inspect: $(first_line "$tmp/err")"
    fi
}

inspect_volumes_and_networks() {
    if docker volume ls -q >"$tmp/vols" 2>"$tmp/vn-err"; then
        if [ -s "$tmp/vols" ]; then
            # shellcheck disable=SC2046
            docker volume inspect --format '{"k":"volume","name":{{json .Name}},"driver":{{json .Driver}},"labels":{{json .Labels}},"mountpoint":{{json .Mountpoint}}}' \
                $(cat "$tmp/vols") 2>"$tmp/vn-err" || problem "docker volume inspect: $(first_line "$tmp/vn-err")"
        fi
    else
        problem "docker volume ls: $(first_line "$tmp/vn-err")"
    fi
    if docker network ls -q --no-trunc >"$tmp/nets" 2>"$tmp/vn-err"; then
        if [ -s "$tmp/nets" ]; then
            # shellcheck disable=SC2046
            docker network inspect --format '{"k":"network","name":{{json .Name}},"driver":{{json .Driver}},"labels":{{json .Labels}},"internal":{{json .Internal}}}' \
                $(cat "$tmp/nets") 2>"$tmp/vn-err" || problem "docker network inspect: $(first_line "$tmp/vn-err")"
        fi
    else
        problem "docker network ls: $(first_line "$tmp/vn-err")"
    fi
}
