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
    # and status need no more; the others are named); --dir D: read the files of D too.
    PROJECT=
    : >"$tmp/dirs"
    while [ $# -gt 0 ]; do
        case "$1" in
            --dir)
                if [ $# -ge 2 ]; then printf '%s\n' "$2" >>"$tmp/dirs"; shift; else problem "--dir needs a directory"; fi ;;
            --project)
                if [ $# -ge 2 ]; then PROJECT=$2; shift; else problem "--project needs a name"; fi ;;
            *) problem "unknown probe argument: $1" ;;
        esac
        shift
    done
    if probe_docker; then
        inspect_containers
        inspect_volumes_and_networks
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
