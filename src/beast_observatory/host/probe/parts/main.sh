# shellcheck shell=sh disable=SC2034,SC2154 # a part: other parts set or read its globals
# ---------------------------------------------------------------- main

main() {
    setup_tools
    tmp=$(mktemp -d 2>/dev/null) || { tmp="/tmp/observatory-probe.$$"; mkdir -m 700 "$tmp" || tmp=; }
    if [ -z "$tmp" ] || [ ! -d "$tmp" ]; then
        printf '{"k":"meta","probe_version":%s,"encoding":"%s","sha":false}\n' "$PROBE_VERSION" "$ENC"
        problem "cannot create a temporary directory on the host: nothing else was probed"
        printf '{"k":"end"}\n'
        return
    fi
    trap 'rm -rf "$tmp"' EXIT
    trap 'rm -rf "$tmp"; exit 130' INT TERM HUP
    if [ -n "$SHA" ]; then has_sha=true; else has_sha=false; fi
    printf '{"k":"meta","probe_version":%s,"encoding":"%s","sha":%s}\n' "$PROBE_VERSION" "$ENC" "$has_sha"
    [ -n "$SHA" ] || problem "no sha256 tool on the host (sha256sum, shasum, openssl): secrets are redacted without a hash"
    printf '{"k":"host","hostname_b":"%s","kernel_b":"%s"}\n' "$(s "$(uname -n)")" "$(s "$(uname -sr)")"
    # --project P: only that compose project's containers are inspected in full (plan, apply
    # and status need no more; the others are named); --dir D: read the files of D too;
    # --expect "SHA256 PATH": the caller has that file of a --dir (emit_file).
    PROJECT=
    : >"$tmp/dirs"
    : >"$tmp/expect"
    while [ $# -gt 0 ]; do
        case "$1" in
            --dir)
                if [ $# -ge 2 ]; then printf '%s\n' "$2" >>"$tmp/dirs"; shift; else problem "--dir needs a directory"; fi ;;
            --expect)
                if [ $# -ge 2 ]; then printf '%s\n' "$2" >>"$tmp/expect"; shift; else problem "--expect needs SHA256 PATH"; fi ;;
            --project)
                if [ $# -ge 2 ]; then PROJECT=$2; shift; else problem "--project needs a name"; fi ;;
            *) problem "unknown probe argument: $1" ;;
        esac
        shift
    done
    # "SHA256 PATH" lines, each between newlines: emit_file looks a file up without a process.
    EXPECTED="$NL$(cat "$tmp/expect")$NL"
    # A deploy directory with our manifest.json holds the project's files as we wrote them:
    # for its plan and apply the probe reads them there only, and asks Prometheus for its
    # targets only (no copies out of the containers, no other API): "managed" in the meta.
    MANAGED=false
    if [ -n "$PROJECT" ]; then
        while IFS= read -r d; do
            # as emit_tree lists it (find -type f): a regular file, no symbolic link
            [ -f "$d/manifest.json" ] && [ ! -L "$d/manifest.json" ] && MANAGED=true
        done <"$tmp/dirs"
    fi
    printf '{"k":"meta","managed":%s}\n' "$MANAGED"
    if probe_docker; then
        # Volumes and networks are asked beside the containers: Docker answers both at once.
        inspect_volumes_and_networks >"$tmp/volumes-networks" &
        vn_pid=$!
        inspect_containers
        wait "$vn_pid"
        cat "$tmp/volumes-networks"
        compose_projects
        read_configs_and_apis
        compose_versions
    fi
    while IFS= read -r d; do
        emit_directory "$d"
    done <"$tmp/dirs"
    printf '{"k":"end"}\n'
}

# Everything runs from one function called on the last line: the shell has read the whole
# script before any command runs, so nothing below can swallow script text from stdin.
main "$@" </dev/null
