# shellcheck shell=sh disable=SC2034,SC2154 # a part: other parts set or read its globals
# ---------------------------------------------------------------- files

# secret_file SCOPE PATH: whether the file at PATH (what the container sees, or the path inside
# a --dir directory) is a secret whole - a mounted secret, a key, a password or token file - and
# must never be read. Compose projects' own files (compose files, .env) are read and redacted.
secret_file() {
    [ "$1" = project ] && return 1
    case "$2" in
        /run/secrets/*|/var/run/secrets/*|*/secrets/*|secrets/*|*/secret/*|secret/*) return 0 ;;
    esac
    sf_base=${2##*/}
    case "$sf_base" in
        *[A-Z]*) sf_base=$(printf '%s' "$sf_base" | tr 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' 'abcdefghijklmnopqrstuvwxyz') ;;
    esac
    case "$sf_base" in
        *.pem|*.key|*.p12|*.pfx|*.jks|*.keystore|*htpasswd*|*passw*|*secret*|*token*|*credential*) return 0 ;;
        id_rsa|id_dsa|id_ecdsa|id_ed25519|*apikey*|*api_key*|*api-key*|*privkey*|*privatekey*|*private_key*|*private-key*) return 0 ;;
        key|keys|key[._-]*|keys[._-]*|*[._-]key|*[._-]keys|*[._-]key[._-]*|*[._-]keys[._-]*) return 0 ;;
    esac
    return 1
}

# emit_file SCOPE OWNER PATH SOURCE: one file record (content redacted, size-capped; a secret
# file's content is never read). A file of a --dir whose sha256 is the one the caller expects
# for its path (--expect) is sent without its content ("expected"): the caller has it.
emit_file() {
    f_scope=$1 f_owner=$2 f_path=$3 f_src=$4
    f_err='' f_size=null f_sha=null f_expected=false
    if [ ! -e "$f_src" ]; then
        if [ -L "$f_src" ]; then f_err="dangling symbolic link"; else f_err="no such file"; fi
    elif [ -d "$f_src" ]; then f_err="is a directory"
    elif [ ! -f "$f_src" ]; then f_err="not a regular file"
    # In a subshell: a failed redirection of a special builtin ends a POSIX shell.
    elif ! (exec <"$f_src") 2>"$tmp/ferr"; then f_err="cannot read: $(first_line "$tmp/ferr")"
    fi
    if [ -z "$f_err" ]; then
        f_size=$(wc -c <"$f_src")
        f_size=$((f_size + 0))  # wc pads with blanks on some systems
        if [ -n "$SHA" ]; then
            f_sha=$($SHA <"$f_src" 2>/dev/null)
            f_sha=${f_sha%% *}
            case "$f_scope:$EXPECTED" in
                dir:*"$NL$f_sha $f_path$NL"*) f_expected=true ;;
            esac
            if [ -n "$f_sha" ]; then f_sha="\"$f_sha\""; else f_sha=null; fi
        fi
        if [ "$f_expected" = true ]; then
            :
        elif secret_file "$f_scope" "$f_path"; then
            f_err="secret file: content not collected"
        elif [ "$f_size" -gt "$MAX_FILE_BYTES" ]; then
            f_err="larger than $MAX_FILE_BYTES bytes: content not read"
        elif [ "$(($(tr -d '\000' <"$f_src" | wc -c) + 0))" != "$f_size" ]; then
            f_err="binary file: content not read"
        fi
    fi
    f_host=$f_src
    [ "${COPIED:-false}" = true ] && f_host=
    # The owner is the same for every file of a tree: encoded once.
    if [ "$f_owner" != "${f_owner_was-}" ] || [ -z "${f_owner_was+set}" ]; then
        f_owner_was=$f_owner f_owner_b=$(s "$f_owner")
    fi
    printf '{"k":"file","scope":"%s","owner_b":"%s","path_b":"%s","host_path_b":"%s","copied":%s,"sha256":%s,"size":%s,"expected":%s,"error_b":%s,"content_b":' \
        "$f_scope" "$f_owner_b" "$(s "$f_path")" "$(s "$f_host")" "${COPIED:-false}" "$f_sha" "$f_size" "$f_expected" "$(sn "$f_err")"
    if [ -z "$f_err" ] && [ "$f_expected" = false ]; then
        printf '"'
        redact "$(mode_for "$f_path")" <"$f_src" | enc
        printf '"}\n'
    else
        printf 'null}\n'
    fi
}

# emit_tree SCOPE OWNER PREFIX DIR: every regular file under DIR, as PREFIX/relative path.
emit_tree() {
    t_scope=$1 t_owner=$2 t_prefix=$3 t_dir=${4%/}
    if [ "$t_scope" = dir ]; then
        # A deploy directory keeps copies of its last releases: only their manifests matter.
        find "$t_dir/" -type f \( ! -path "$t_dir/releases/*" -o -name manifest.json \) -print
    else
        find "$t_dir/" -type f
    fi 2>"$tmp/terr" | LC_ALL=C sort | head -n $((MAX_TREE_FILES + 1)) >"$tmp/tree"
    if [ -s "$tmp/terr" ]; then problem "$t_dir: $(first_line "$tmp/terr")"; fi
    t_count=0
    while IFS= read -r t_file; do
        t_count=$((t_count + 1))
        if [ "$t_count" -gt "$MAX_TREE_FILES" ]; then
            problem "$t_dir: more than $MAX_TREE_FILES files, only the first $MAX_TREE_FILES were read"
            break
        fi
        t_rel=${t_file#"$t_dir/"}
        emit_file "$t_scope" "$t_owner" "$t_prefix$t_rel" "$t_file"
    done <"$tmp/tree"
}

emit_directory() {
    d=$1
    printf '{"k":"dir","path_b":"%s"}\n' "$(s "$d")"
    if [ ! -d "$d" ]; then
        problem "directory $d: no such directory"
        return
    fi
    emit_tree dir "$d" "" "$d"
}
