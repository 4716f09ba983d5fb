# shellcheck shell=sh disable=SC2034,SC2154 # a part: other parts set or read its globals
# ---------------------------------------------------------------- configuration and APIs

# Which containers run a known service, which of their mounts hold configuration, and where
# their APIs listen (parts/plan.awk).
PLAN_AWK=$(cat <<'AWK'
#@insert plan.awk
AWK
)

# copy_config NAME ID DIR: the files of DIR as the container sees them (docker cp works on
# stopped containers too, and reads through its mounts).
copy_config() {
    cc_dir="$tmp/copy/$2"
    rm -rf "$cc_dir" && mkdir -p "$cc_dir" || return
    if ! docker cp "$2:$3/." - 2>"$tmp/cerr" </dev/null | tar -x -C "$cc_dir" -f - 2>>"$tmp/cerr"; then
        problem "$1: cannot copy $3 out of the container: $(first_line "$tmp/cerr")"
    fi
    COPIED=true
    emit_tree container "$1" "$3/" "$cc_dir"
    COPIED=false
    rm -rf "$cc_dir"
}

# read_configs: each container's configuration, as the C, M and X lines of the plan say.
read_configs() {
    while IFS="$US" read -r tag c_name c_type c_src c_dst c_rw; do
        case "$tag" in
            C) copy_config "$c_name" "$c_type" "$c_src" ;;
            M)
                if [ -d "$c_src" ]; then
                    emit_tree container "$c_name" "$c_dst/" "$c_src"
                elif [ -f "$c_src" ] || [ ! -e "$c_src" ]; then
                    emit_file container "$c_name" "$c_dst" "$c_src"
                fi ;;
            X)
                if [ -f "$c_src" ]; then
                    emit_file container "$c_name" "$c_dst" "$c_src"
                elif [ -d "$c_src" ] && [ "$c_rw" = false ]; then
                    emit_tree container "$c_name" "$c_dst/" "$c_src"
                fi ;;
        esac
    done <"$tmp/plan"
}

# The configuration and APIs of the containers; of a managed project (MANAGED, see main),
# Prometheus' targets only: the files are read in the deploy directory.
read_configs_and_apis() {
    awk -F"$US" -v OFS="$US" "$PLAN_AWK" "$tmp/side" "$tmp/side" >"$tmp/plan"
    [ "$MANAGED" = true ] || read_configs
    while IFS="$US" read -r tag a_name a_id a_kind a_running a_port a_pub a_prefix; do
        [ "$tag" = A ] || continue
        case "$MANAGED:$a_kind" in
            true:prometheus) a_paths="/api/v1/targets" ;;
            true:*) continue ;;
            *:prometheus) a_paths="/api/v1/status/config /api/v1/status/flags /api/v1/status/buildinfo /api/v1/targets" ;;
            *:pushgateway) a_paths="/api/v1/status" ;;
            *:grafana) a_paths="/api/health" ;;
            *:alertmanager) a_paths="/api/v2/status" ;;
            *) continue ;;
        esac
        a_base=
        if [ -n "$a_pub" ]; then
            a_ip=${a_pub%:*}
            case "$a_ip" in
                ""|0.0.0.0) a_ip=127.0.0.1 ;;
                ::) a_ip="[::1]" ;;
                *:*) a_ip="[$a_ip]" ;;
            esac
            a_base="http://$a_ip:${a_pub##*:}"
        fi
        for a_path in $a_paths; do
            ask_api "$a_name" "$a_id" "$a_running" "$a_base" "$a_port" "$a_path" "$a_prefix"
        done
    done <"$tmp/plan"
}

# http_get URL: body to $tmp/body, prints the HTTP status (000: no answer; why in $tmp/herr).
http_get() {
    : >"$tmp/body"
    case "$HTTP" in
        curl) curl -sS -m 5 --connect-timeout 2 -o "$tmp/body" -w '%{http_code}' "$1" 2>"$tmp/herr" ;;
        wget)
            $TMO wget -S -O "$tmp/body" "$1" >/dev/null 2>"$tmp/herr"
            code=$(sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "$tmp/herr" | tail -n 1)
            printf '%s' "${code:-000}" ;;
        *) echo "no curl or wget on the host" >"$tmp/herr"; printf 000 ;;
    esac
}

ask_api() {
    q_name=$1 q_id=$2 q_running=$3 q_base=$4 q_port=$5 q_path=$6 q_prefix=${7:-}
    q_code=000 q_via=host q_err=
    if [ -n "$q_base" ]; then
        q_code=$(http_get "$q_base$q_prefix$q_path")
        [ "$q_code" = 000 ] && q_err="$q_base$q_prefix$q_path: $(first_line "$tmp/herr")"
    else
        q_err="port $q_port is not published"
    fi
    if [ "$q_code" = 000 ] && [ "$q_running" = true ]; then
        # Not reachable from the host: ask from inside the container (busybox wget).
        q_via=container
        : >"$tmp/body"
        if $TMO docker exec "$q_id" wget -q -O - "http://127.0.0.1:$q_port$q_prefix$q_path" \
            >"$tmp/body" 2>"$tmp/herr" </dev/null; then
            q_code=200 q_err=
        else
            q_code=$(sed -n 's/.*HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "$tmp/herr" | tail -n 1)
            q_code=${q_code:-000}
            q_err="$q_err; inside the container: $(first_line "$tmp/herr")"
            [ "$q_code" != 000 ] && q_err=
        fi
    elif [ "$q_code" = 000 ]; then
        q_err="$q_err; the container is not running"
    fi
    q_size=$(wc -c <"$tmp/body" | tr -d ' ')
    printf '{"k":"api","owner_b":"%s","path":"%s","status":%s,"via":"%s","error_b":%s,"body_b":' \
        "$(s "$q_name")" "$q_path" "$((q_code + 0))" "$q_via" "$(sn "$q_err")"
    if [ "$q_size" -gt "$MAX_BODY_BYTES" ]; then
        printf 'null,"too_large":true}\n'
    elif [ "$q_size" -gt 0 ]; then
        printf '"'; enc <"$tmp/body"; printf '"}\n'
    else
        printf 'null}\n'
    fi
}
