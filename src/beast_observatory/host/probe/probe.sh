# beast-observatory discovery probe.
#
# POSIX sh (dash, bash, busybox ash), run ON THE HOST as `sh -s -- [--dir DIR]...` with this
# script on stdin: one command, one round trip. Needs only what every host has (awk, sed, od,
# find, sort, cut, tr, wc) plus, when present, docker, base64, sha256sum, curl or wget. No
# Python, no jq.
#
# Output: JSON lines on stdout, one record per line ({"k": KIND, ...}), ending with
# {"k":"end"}. beast_observatory.host.probe.inventory turns them into the inventory; a record
# cut short (a killed probe) loses only itself. Strings that may hold any byte are sent
# base64-encoded (fields ending in "_b"; hex when the host has no base64).
#
# Secrets never leave the host: values of secret-looking environment variables, labels and
# --flags, secret fields of config files (basic-auth passwords, secureJsonData, grafana.ini
# passwords and keys, .env entries), the password of credentials in URLs
# (scheme://user:PASSWORD@host) and of curl/wget-style `-u user:PASSWORD` / `--user ...` (in
# commands, healthchecks and files) are replaced here by <redacted sha256:XXXXXXXXXXXX> (first
# 12 hex digits of the value's sha256), so a changed secret still shows as a change. Values are
# hashed through a pipe, never on a command line. Files that are a secret whole (anything under
# /run/secrets/, keys, password and token files: secret_file) are never read: only their size
# and sha256 are sent.
#
# Nothing here is fatal: a missing docker, a container gone mid-probe, an unreadable file or a
# silent API becomes a "problem" record or an "error" field.

PROBE_VERSION=2
MAX_FILE_BYTES=1048576
MAX_TREE_FILES=1000
MAX_BODY_BYTES=4194304
US=$(printf '\037')

# ---------------------------------------------------------------- tools and encoding

setup_tools() {
    if command -v base64 >/dev/null 2>&1 && [ "$(printf ab | base64 2>/dev/null)" = "YWI=" ]; then
        ENC=base64
    else
        ENC=hex
    fi
    SHA=
    for c in sha256sum "shasum -a 256" "openssl dgst -sha256 -r" "busybox sha256sum"; do
        if [ "$(printf abc | $c 2>/dev/null | cut -c1-12)" = "ba7816bf8f01" ]; then
            SHA=$c
            break
        fi
    done
    # busybox-static's wget crashes on -T (a timeout) when a request fails: bound wget with
    # timeout(1) instead, where the host has it.
    if command -v timeout >/dev/null 2>&1; then TMO="timeout 15"; else TMO=; fi
    if command -v curl >/dev/null 2>&1; then HTTP=curl
    elif command -v wget >/dev/null 2>&1; then HTTP=wget
    else HTTP=; fi
}

enc() {
    if [ "$ENC" = base64 ]; then base64 | tr -d '\n'; else od -An -v -tx1 | tr -d ' \n'; fi
}

s() { printf '%s' "$1" | enc; }

# A JSON value: the encoded string in quotes, or null for an empty one.
sn() { if [ -n "$1" ]; then printf '"%s"' "$(s "$1")"; else printf null; fi; }

first_line() { sed -n '1{p;q;}' "$1" 2>/dev/null | cut -c1-300; }

problem() { printf '{"k":"problem","msg_b":"%s"}\n' "$(s "$1")"; }

# ---------------------------------------------------------------- redaction (awk)

# Modes: records (docker inspect lines; also diverts "@" lines to the file in $side),
# ini (grafana.ini, .env), json, yaml (everything else).
redact() {
    awk -v mode="$1" -v sha="$SHA" -v hashfile="$tmp/hash" -v side="$2" "$REDACT_AWK"
}

mode_for() {
    case "$1" in
        *.ini|*.cfg|*.conf|*.env|*/.env|.env|*/.env.*|.env.*|*.properties) echo ini ;;
        *.json) echo json ;;
        *) echo yaml ;;
    esac
}

REDACT_AWK=$(cat <<'AWK'
BEGIN {
    blk = -1; sblk = -1; q = sprintf("%c", 39); dq = "\""
    for (i = 1; i < 32; i++) ctl[sprintf("%c", i)] = i
    # scheme://user:password@ - in a file (quotes end a value) and in a value of its own.
    URL_Q = "[A-Za-z][A-Za-z0-9+.-]*://[^/?#@: \t\r\n\"']*:[^/?# \t\r\n\"']*@"
    URL_RAW = "[A-Za-z][A-Za-z0-9+.-]*://[^/?#@: \t\r\n]*:[^/?# \t\r\n]*@"
    URL_JSON = "[A-Za-z][A-Za-z0-9+.-]*://([^/?#@: \t\r\n\"\\\\]|\\\\.)*:([^/?# \t\r\n\"\\\\]|\\\\.)*@"
    # curl/wget's -u (also in a bundle such as -fsSu), --user, --proxy-user.
    UFLAG = "(-[A-Za-z]*u|--user|--proxy-user)"
}
function secret_name(k,   u) {
    u = toupper(k)
    if (u ~ /(WEBHOOK_URL|API_URL)$/) return 1
    if (u ~ /(FILE|PATH|DIR|_URL|_NAME|_USER|_MINUTES|_SECONDS|_DAYS|_INTERVAL|_ENABLED|_TTL|_LENGTH|_HEADER|_TYPE)$/) return 0
    return u ~ /(PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE)/
}
function json_secret(k,   u) {
    u = toupper(k)
    if (u ~ /(FILE|PATH|_URL|URL|NAME|USER)$/) return 0
    return u ~ /(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|APIKEY|API_KEY|PRIVATEKEY|PRIVATE_KEY)/
}
# A reference, also written for compose ($$VAR: a $ the shell sees).
function ref_value(v) { return is_ref(substr(v, 1, 2) == "$$" ? substr(v, 2) : v) }
function is_ref(v) {
    if (v == "" || v ~ /^<redacted/ || v == "<secret>") return 1
    if (v ~ /^\$[A-Za-z_][A-Za-z0-9_]*$/) return 1
    if (v ~ /^\$\{[A-Za-z_][A-Za-z0-9_]*([:?-][^}]*)?\}$/) return 1
    return v ~ /^\$__(env|file|vault)\{[^}]*\}$/
}
function unq(v,   f, l) {
    f = substr(v, 1, 1); l = substr(v, length(v), 1)
    if (length(v) >= 2 && f == l && (f == dq || f == q)) return substr(v, 2, length(v) - 2)
    return v
}
function mark(v,   h, cmd) {
    if (sha == "") return "<redacted>"
    cmd = sha " >" hashfile
    printf "%s", v | cmd
    close(cmd)
    h = ""
    getline h < hashfile
    close(hashfile)
    if (h == "") return "<redacted>"
    return "<redacted sha256:" substr(h, 1, 12) ">"
}
function hexval(h,   i, n, c) {
    n = 0; h = tolower(h)
    for (i = 1; i <= length(h); i++) n = n * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
    return n
}
# JSON string body -> its value (\uXXXX beyond ASCII is kept escaped: such secrets are rare).
function jdecode(s,   out, i, c, n) {
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c != "\\") { out = out c; continue }
        i++; c = substr(s, i, 1)
        if (c == "n") out = out "\n"
        else if (c == "t") out = out "\t"
        else if (c == "r") out = out "\r"
        else if (c == "b") out = out "\b"
        else if (c == "f") out = out "\f"
        else if (c == "u") {
            n = hexval(substr(s, i + 1, 4))
            if (n > 0 && n < 128) { out = out sprintf("%c", n); i += 4 }
            else out = out "\\u"
        }
        else out = out c
    }
    return out
}
# A value -> JSON string body (what jdecode undoes).
function jencode(s,   out, i, c) {
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\") out = out "\\\\"
        else if (c == dq) out = out "\\" dq
        else if (c == "\n") out = out "\\n"
        else if (c == "\t") out = out "\\t"
        else if (c == "\r") out = out "\\r"
        else if (c in ctl) out = out sprintf("\\u%04x", ctl[c])
        else out = out c
    }
    return out
}
# scheme://user:password@host -> scheme://user:<redacted ...>@host. raw: s is a value of its
# own (quotes belong to the password); js: s is JSON text (the password is hashed decoded).
function urlcreds(s, raw, js,   out, m, p, ui, c, pw) {
    if (!index(s, "://")) return s
    out = ""
    while (match(s, raw ? URL_RAW : js ? URL_JSON : URL_Q)) {
        m = substr(s, RSTART, RLENGTH)
        p = index(m, "://") + 3
        ui = substr(m, p, length(m) - p)
        c = index(ui, ":")
        pw = substr(ui, c + 1)
        if (pw != "" && !ref_value(pw)) m = substr(m, 1, p + c - 1) mark(js ? jdecode(pw) : pw) "@"
        out = out substr(s, 1, RSTART - 1) m
        s = substr(s, RSTART + RLENGTH)
    }
    return out s
}
# "user:password" (the value of -u/--user) -> "user:<redacted ...>"; "" when it is not one
# (no colon, a uid:gid pair, a reference such as $PASS).
function userpass(v, js,   c, pw) {
    if (v !~ /^[^:=\/ \t]*:/ || v ~ /^[0-9]+:[0-9]+$/) return ""
    c = index(v, ":")
    pw = substr(v, c + 1)
    if (pw == "" || ref_value(pw)) return ""
    return substr(v, 1, c) mark(js ? jdecode(pw) : pw)
}
# -u user:password, -fsSu user:password, --user=user:password, "-u", "user:password" (a flow
# list), -uuser:password.
function userflags(s, raw, js,   out, fl, sep, qc, v, e, n) {
    if (s !~ /-[A-Za-z]*u|--(proxy-)?user/) return s
    out = ""
    while (match(s, "(^|[^A-Za-z0-9_.-])" UFLAG)) {
        fl = substr(s, RSTART, RLENGTH)
        out = out substr(s, 1, RSTART + RLENGTH - 1)
        s = substr(s, RSTART + RLENGTH)
        if (match(s, /^(=|[ \t]+|["']?[ \t]*,[ \t]*["']?)/)) sep = substr(s, 1, RLENGTH)
        else if (fl ~ /(^|[^A-Za-z0-9_.-])-u$/) sep = ""
        else continue
        out = out sep; s = substr(s, length(sep) + 1)
        qc = substr(s, 1, 1)
        if (qc == dq || qc == q) { out = out qc; s = substr(s, 2) } else qc = ""
        if (qc != "") e = index(s, qc)
        else if (raw) e = match(s, /[ \t\n]/)
        else e = match(s, /[]} \t\n"',]/)
        v = e ? substr(s, 1, e - 1) : s
        n = userpass(v, js)
        if (n != "") { out = out n; s = substr(s, length(v) + 1) }
    }
    return out s
}
# Credentials in any text: URLs, then -u/--user.
function creds(s, raw, js) { return userflags(urlcreds(s, raw, js), raw, js) }
function record(line,   p, pre, body, eq, name, val, key, isarg, new, prev) {
    if (substr(line, 1, 1) == "@") { print line > side; return "" }
    if (line !~ /^\{"k":"(env|label|arg|logopt|ienv|iarg)",/) return line
    p = index(line, ",\"v\":\"")
    if (!p || substr(line, length(line) - 1) != "\"}") return line
    pre = substr(line, 1, p + 5)
    body = substr(line, p + 6, length(line) - p - 7)
    isarg = line ~ /^\{"k":"i?arg"/
    val = jdecode(body)
    if (isarg) {
        # Arguments come one per record, in order: the one after a lone -u/--user is its value.
        key = ""
        if (match(line, /"c":"[^"]*","f":"[a-z]*"/)) key = substr(line, RSTART, RLENGTH)
        prev = uflag[key]
        uflag[key] = val ~ ("^" UFLAG "$")
        if (prev && (new = userpass(val, 0)) != "") return pre jencode(new) "\"}"
    }
    if (!isarg || body ~ /^--?[A-Za-z0-9][A-Za-z0-9._-]*=/) {
        eq = index(body, "=")
        if (eq) {
            name = substr(body, 1, eq - 1); sub(/^-+/, "", name)
            if (substr(body, eq + 1) != "" && secret_name(name))
                return pre substr(body, 1, eq) mark(jdecode(substr(body, eq + 1))) "\"}"
        }
    }
    new = isarg ? creds(val, 1, 0) : urlcreds(val, 1, 0)
    if (new == val) return line
    return pre jencode(new) "\"}"
}
function iniline(line,   p, key, val, k, v, lead) {
    if (line ~ /^[ \t]*[;#\[]/) return line
    p = index(line, "=")
    if (!p) return line
    key = substr(line, 1, p - 1); val = substr(line, p + 1)
    k = key; sub(/^[ \t]*(export[ \t]+)?/, "", k); sub(/[ \t]+$/, "", k)
    v = val; sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
    if (!secret_name(k) || v == "") return line
    if (length(v) >= 6 && substr(v, 1, 3) == "\"\"\"" && substr(v, length(v) - 2) == "\"\"\"") v = substr(v, 4, length(v) - 6)
    else v = unq(v)
    if (is_ref(v)) return line
    match(val, /^[ \t]*/)
    return key "=" substr(val, 1, RLENGTH) mark(v)
}
function jsonline(line,   out, rest, m, key, p, vpart, val) {
    out = ""; rest = line
    while (match(rest, /"[A-Za-z0-9_.-]*"[ \t]*:[ \t]*"([^"\\]|\\.)*"/)) {
        m = substr(rest, RSTART, RLENGTH)
        key = substr(m, 2); key = substr(key, 1, index(key, "\"") - 1)
        p = index(m, ":"); vpart = substr(m, p + 1); sub(/^[ \t]*/, "", vpart)
        val = substr(vpart, 2, length(vpart) - 2)
        if (json_secret(key) && !is_ref(val))
            m = substr(m, 1, length(m) - length(vpart)) "\"" mark(jdecode(val)) "\""
        out = out substr(rest, 1, RSTART - 1) m
        rest = substr(rest, RSTART + RLENGTH)
    }
    return out rest
}
# "- NAME=value" and "- --flag=value" list items (compose environment and command lists).
function listitem(rest,   r, qc, name, val, f) {
    r = rest; qc = ""
    f = substr(r, 1, 1)
    if (f == dq || f == q) {
        if (length(r) < 2 || substr(r, length(r), 1) != f) return ""
        qc = f; r = substr(r, 2, length(r) - 2)
    }
    if (!match(r, /^-*[A-Za-z_][A-Za-z0-9_.-]*=/)) return ""
    name = substr(r, 1, RLENGTH - 1); val = substr(r, RLENGTH + 1)
    sub(/^-+/, "", name)
    if (!secret_name(name) || is_ref(val)) return ""
    return qc substr(r, 1, RLENGTH) mark(val) qc
}
# A block list item after a lone "- -u" / "- --user" item: its user:password.
function useritem(line,   lead, r, qc, v, n, prev) {
    if (!match(line, /^[ \t]*- +/)) {
        if (line !~ /^[ \t]*(#|$)/) uitem = 0
        return line
    }
    lead = substr(line, 1, RLENGTH); r = substr(line, RLENGTH + 1); prev = uitem
    uitem = r ~ ("^[\"']?" UFLAG "[\"']?[ \t]*$")
    if (!prev) return line
    qc = substr(r, 1, 1)
    if (qc == dq || qc == q) { r = substr(r, 2); v = substr(r, 1, index(r, qc) - 1) }
    else { qc = ""; v = r; sub(/[ \t]+#.*$/, "", v); sub(/[ \t]+$/, "", v) }
    n = userpass(v, 0)
    if (n == "") return line
    return lead qc n substr(r, length(v) + 1)
}
function yamlline(line,   ind, body, item, rest, n, keyraw, key, val, v, cm, p, uv, f) {
    match(line, /^[ \t]*/); ind = RLENGTH; body = substr(line, ind + 1)
    if (sblk >= 0) {
        if (body == "") return line
        if (ind > sblk) return substr(line, 1, ind) mark(body)
        sblk = -1
    }
    if (blk >= 0 && body != "" && ind <= blk) blk = -1
    if (body ~ /^#/) return line
    item = ""; rest = body
    if (substr(rest, 1, 2) == "- ") {
        item = "- "; rest = substr(rest, 3)
        while (substr(rest, 1, 1) == " ") { item = item " "; rest = substr(rest, 2) }
        n = listitem(rest)
        if (n != "") return substr(line, 1, ind) item n
    }
    if (!match(rest, /^("[^"]*"|'[^']*'|[^ \t:#"'][^:#]*)[ \t]*:([ \t]|$)/)) return line
    keyraw = substr(rest, 1, RLENGTH)
    val = substr(rest, RLENGTH + 1)
    key = keyraw; sub(/[ \t]*:[ \t]*$/, "", key); key = unq(key)
    v = val; cm = ""
    f = substr(v, 1, 1)
    if (f == dq || f == q) {
        p = index(substr(v, 2), f)
        if (p) { cm = substr(v, p + 2); v = substr(v, 1, p + 1) }
    } else {
        p = index(v, " #")
        if (p) { cm = substr(v, p); v = substr(v, 1, p - 1) }
    }
    if (match(v, /[ \t]+$/)) { cm = substr(v, RSTART) cm; v = substr(v, 1, RSTART - 1) }
    if (tolower(key) ~ /^secure_?json_?data$/ && v == "") { blk = ind; return line }
    if (!(blk >= 0 && ind > blk) && !secret_name(key)) return line
    if (v == "") return line
    if (v ~ /^[|>][-+0-9]*$/) { sblk = ind; return line }
    uv = unq(v)
    if (is_ref(uv)) return line
    if (uv != v) return substr(line, 1, ind) item keyraw "\"" mark(uv) "\"" cm
    return substr(line, 1, ind) item keyraw mark(uv) cm
}
{
    if (mode == "records") { out = record($0); if (out != "") print out }
    else if (mode == "ini") print creds(iniline($0), 0, 0)
    else if (mode == "json") print creds(jsonline($0), 0, 1)
    else print creds(useritem(yamlline($0)), 0, 0)
}
AWK
)

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
# file's content is never read).
emit_file() {
    f_scope=$1 f_owner=$2 f_path=$3 f_src=$4
    f_err= f_size=null f_sha=null
    if [ ! -e "$f_src" ]; then
        if [ -L "$f_src" ]; then f_err="dangling symbolic link"; else f_err="no such file"; fi
    elif [ -d "$f_src" ]; then f_err="is a directory"
    elif [ ! -f "$f_src" ]; then f_err="not a regular file"
    # In a subshell: a failed redirection of a special builtin ends a POSIX shell.
    elif ! (exec <"$f_src") 2>"$tmp/ferr"; then f_err="cannot read: $(first_line "$tmp/ferr")"
    fi
    if [ -z "$f_err" ]; then
        f_size=$(wc -c <"$f_src" | tr -d ' ')
        if [ -n "$SHA" ]; then
            f_sha=$($SHA <"$f_src" 2>/dev/null | cut -d' ' -f1)
            if [ -n "$f_sha" ]; then f_sha="\"$f_sha\""; else f_sha=null; fi
        fi
        if secret_file "$f_scope" "$f_path"; then
            f_err="secret file: content not collected"
        elif [ "$f_size" -gt "$MAX_FILE_BYTES" ]; then
            f_err="larger than $MAX_FILE_BYTES bytes: content not read"
        elif [ "$(tr -d '\000' <"$f_src" | wc -c | tr -d ' ')" != "$f_size" ]; then
            f_err="binary file: content not read"
        fi
    fi
    f_host=$f_src
    [ "${COPIED:-false}" = true ] && f_host=
    printf '{"k":"file","scope":"%s","owner_b":"%s","path_b":"%s","host_path_b":"%s","copied":%s,"sha256":%s,"size":%s,"error_b":%s,"content_b":' \
        "$f_scope" "$(s "$f_owner")" "$(s "$f_path")" "$(s "$f_host")" "${COPIED:-false}" "$f_sha" "$f_size" "$(sn "$f_err")"
    if [ -z "$f_err" ]; then
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

# ---------------------------------------------------------------- docker

# One docker inspect for all containers. Env, labels and arguments (entrypoint, cmd and the
# healthcheck's test) come one per line (so the redactor sees each value alone); "@" lines feed
# the rest of this script and never leave.
CONTAINER_TEMPLATE=$(cat <<EOF
{"k":"container","id":{{json .ID}},"name":{{json .Name}},"image":{{json .Config.Image}},"image_id":{{json .Image}},"user":{{json .Config.User}},"restart_policy":{{json .HostConfig.RestartPolicy.Name}},"restart_max":{{json .HostConfig.RestartPolicy.MaximumRetryCount}},"config":{"hostname":{{json .Config.Hostname}},"domainname":{{json .Config.Domainname}},"working_dir":{{json .Config.WorkingDir}},"stop_signal":{{json .Config.StopSignal}},"stop_timeout":{{json .Config.StopTimeout}},"exposed":{{json .Config.ExposedPorts}},"tty":{{json .Config.Tty}},"open_stdin":{{json .Config.OpenStdin}}},"host_config":{"cap_add":{{json .HostConfig.CapAdd}},"cap_drop":{{json .HostConfig.CapDrop}},"privileged":{{json .HostConfig.Privileged}},"pid_mode":{{json .HostConfig.PidMode}},"network_mode":{{json .HostConfig.NetworkMode}},"ipc_mode":{{json .HostConfig.IpcMode}},"log_type":{{json .HostConfig.LogConfig.Type}},"ulimits":{{json .HostConfig.Ulimits}},"extra_hosts":{{json .HostConfig.ExtraHosts}},"dns":{{json .HostConfig.DNS}},"dns_search":{{json .HostConfig.DNSSearch}},"dns_options":{{json .HostConfig.DNSOptions}},"security_opt":{{json .HostConfig.SecurityOpt}},"sysctls":{{json .HostConfig.Sysctls}},"tmpfs":{{json .HostConfig.Tmpfs}},"shm_size":{{json .HostConfig.ShmSize}},"read_only":{{json .HostConfig.ReadonlyRootfs}},"init":{{json .HostConfig.Init}},"devices":{{json .HostConfig.Devices}},"group_add":{{json .HostConfig.GroupAdd}},"memory":{{json .HostConfig.Memory}},"nano_cpus":{{json .HostConfig.NanoCPUs}},"pids_limit":{{json .HostConfig.PidsLimit}}},"healthcheck":{{with .Config.Healthcheck}}{"Interval":{{json .Interval}},"Timeout":{{json .Timeout}},"StartPeriod":{{json .StartPeriod}},"Retries":{{json .Retries}}}{{else}}null{{end}},"mounts":{{json .Mounts}},"port_bindings":{{json .HostConfig.PortBindings}},"ports":{{json .NetworkSettings.Ports}},"state":{"status":{{json .State.Status}},"health":{{if .State.Health}}{{json .State.Health.Status}}{{else}}null{{end}},"started_at":{{json .State.StartedAt}},"pid":{{json .State.Pid}},"exit_code":{{json .State.ExitCode}}}}
{{range \$i, \$a := .Config.Entrypoint}}{"k":"arg","c":{{json \$.ID}},"f":"entrypoint","i":{{\$i}},"v":{{json \$a}}}
{{end}}{{range \$i, \$a := .Config.Cmd}}{"k":"arg","c":{{json \$.ID}},"f":"cmd","i":{{\$i}},"v":{{json \$a}}}
{{end}}{{with .Config.Healthcheck}}{{range \$i, \$a := .Test}}{"k":"arg","c":{{json \$.ID}},"f":"healthcheck","i":{{\$i}},"v":{{json \$a}}}
{{end}}{{end}}{{range .Config.Env}}{"k":"env","c":{{json \$.ID}},"v":{{json .}}}
{{end}}{{range \$k, \$v := .Config.Labels}}{"k":"label","c":{{json \$.ID}},"v":{{json (printf "%s=%s" \$k \$v)}}}
{{end}}{{range \$k, \$v := .HostConfig.LogConfig.Config}}{"k":"logopt","c":{{json \$.ID}},"v":{{json (printf "%s=%s" \$k \$v)}}}
{{end}}{{range \$n, \$x := .NetworkSettings.Networks}}{"k":"net","c":{{json \$.ID}},"v":{{json \$n}},"aliases":{{json \$x.Aliases}},"ipv4":{{if \$x.IPAMConfig}}{{json \$x.IPAMConfig.IPv4Address}}{{else}}""{{end}}}
{{end}}@svc${US}{{.ID}}${US}{{.Name}}${US}{{.Config.Image}}${US}{{.Image}}${US}{{range .Config.Entrypoint}}{{.}} {{end}}${US}{{range .Config.Cmd}}{{.}} {{end}}${US}{{.State.Running}}${US}{{range \$p, \$b := .NetworkSettings.Ports}}{{range \$b}}{{\$p}}={{.HostIP}}:{{.HostPort}} {{end}}{{end}}
{{range .Mounts}}@mnt${US}{{\$.ID}}${US}{{.Type}}${US}{{.Source}}${US}{{.Destination}}${US}{{.RW}}
{{end}}@proj${US}{{index .Config.Labels "com.docker.compose.project"}}${US}{{index .Config.Labels "com.docker.compose.project.working_dir"}}${US}{{index .Config.Labels "com.docker.compose.project.config_files"}}${US}{{index .Config.Labels "com.docker.compose.project.environment_file"}}
EOF
)

# An image's own defaults, which its containers inherit: export leaves out what the image
# already says (its environment, user, labels, exposed ports, command).
IMAGE_TEMPLATE=$(cat <<EOF
{"k":"image","id":{{json .Id}},"repo_digests":{{json .RepoDigests}},"repo_tags":{{json .RepoTags}},"user":{{json (index .Config "User")}},"working_dir":{{json (index .Config "WorkingDir")}},"exposed":{{json (index .Config "ExposedPorts")}},"labels":{{json (index .Config "Labels")}},"volumes":{{json (index .Config "Volumes")}},"stop_signal":{{json (index .Config "StopSignal")}}}
{{range (index .Config "Env")}}{"k":"ienv","c":{{json \$.Id}},"v":{{json .}}}
{{end}}{{range \$i, \$a := (index .Config "Entrypoint")}}{"k":"iarg","c":{{json \$.Id}},"f":"entrypoint","i":{{\$i}},"v":{{json \$a}}}
{{end}}{{range \$i, \$a := (index .Config "Cmd")}}{"k":"iarg","c":{{json \$.Id}},"f":"cmd","i":{{\$i}},"v":{{json \$a}}}
{{end}}
EOF
)

probe_docker() {
    if ! command -v docker >/dev/null 2>&1; then
        printf '{"k":"docker","available":false,"error_b":"%s"}\n' "$(s "docker: command not found")"
        return 1
    fi
    ver=$(docker version --format '{{.Server.Version}}' 2>"$tmp/err")
    if [ $? -ne 0 ] || [ -z "$ver" ]; then
        msg=$(grep -v '^ *$' "$tmp/err" | tail -n 1 | cut -c1-300)
        printf '{"k":"docker","available":false,"error_b":"%s"}\n' "$(s "${msg:-docker version failed}")"
        return 1
    fi
    printf '{"k":"docker","available":true,"server_version_b":%s}\n' "$(sn "$ver")"
    # docker-compose v1 is a Python program that takes half a second to say its version: ask
    # both flavours in the background while the rest of the probe runs (compose_versions).
    docker compose version --short >"$tmp/compose-plugin" 2>/dev/null </dev/null &
    plugin_pid=$!
    if command -v docker-compose >/dev/null 2>&1; then
        docker-compose version --short >"$tmp/compose-standalone" 2>/dev/null </dev/null &
        standalone_pid=$!
    else
        standalone_pid=
    fi
    return 0
}

compose_versions() {
    wait "$plugin_pid" 2>/dev/null && plugin=$(sed -n 1p "$tmp/compose-plugin") || plugin=
    standalone=
    if [ -n "$standalone_pid" ] && wait "$standalone_pid" 2>/dev/null; then
        standalone=$(sed -n 1p "$tmp/compose-standalone")
    fi
    printf '{"k":"compose","plugin_b":%s,"standalone_b":%s}\n' "$(sn "$plugin")" "$(sn "$standalone")"
}

inspect_containers() {
    : >"$tmp/side"
    if ! docker ps -aq --no-trunc >"$tmp/ids" 2>"$tmp/err"; then
        problem "docker ps: $(first_line "$tmp/err")"
        return
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
    if docker volume ls -q >"$tmp/vols" 2>"$tmp/err"; then
        if [ -s "$tmp/vols" ]; then
            # shellcheck disable=SC2046
            docker volume inspect --format '{"k":"volume","name":{{json .Name}},"driver":{{json .Driver}},"labels":{{json .Labels}},"mountpoint":{{json .Mountpoint}}}' \
                $(cat "$tmp/vols") 2>"$tmp/err" || problem "docker volume inspect: $(first_line "$tmp/err")"
        fi
    else
        problem "docker volume ls: $(first_line "$tmp/err")"
    fi
    if docker network ls -q --no-trunc >"$tmp/nets" 2>"$tmp/err"; then
        if [ -s "$tmp/nets" ]; then
            # shellcheck disable=SC2046
            docker network inspect --format '{"k":"network","name":{{json .Name}},"driver":{{json .Driver}},"labels":{{json .Labels}},"internal":{{json .Internal}}}' \
                $(cat "$tmp/nets") 2>"$tmp/err" || problem "docker network inspect: $(first_line "$tmp/err")"
        fi
    else
        problem "docker network ls: $(first_line "$tmp/err")"
    fi
}

compose_projects() {
    awk -F"$US" '$1 == "@proj" && $2 != "" { print $2 FS $3 FS $4 FS $5 }' "$tmp/side" \
        | LC_ALL=C sort -u >"$tmp/projects"
    while IFS="$US" read -r p_name p_dir p_files p_env; do
        printf '{"k":"project","name_b":"%s","working_dir_b":%s,"config_files_b":%s}\n' \
            "$(s "$p_name")" "$(sn "$p_dir")" "$(sn "$p_files")"
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

# Which containers run a known service, which of their mounts hold configuration, and where
# their APIs listen. Prints "M<US>name<US>type<US>source<US>destination" for mounts to read and
# "A<US>name<US>id<US>kind<US>running<US>port<US>published" for APIs to ask.
PLAN_AWK=$(cat <<'AWK'
function base(image,   b) { b = image; sub(/@.*/, "", b); sub(/.*\//, "", b); sub(/:.*/, "", b); return tolower(b) }
function prog(entry,   e) { e = entry; sub(/ .*/, "", e); sub(/.*\//, "", e); return tolower(e) }
function kind_of(image, entry,   b, e) {
    b = base(image); e = prog(entry)
    if (b ~ /pushgateway$/ || e ~ /pushgateway$/) return "pushgateway"
    if (b ~ /alertmanager$/ || e ~ /alertmanager$/) return "alertmanager"
    if (b ~ /node[-_]exporter$/ || e ~ /node[-_]exporter$/) return "node_exporter"
    if (b ~ /^grafana(-oss|-enterprise|-standin)?$/ || e ~ /^grafana(-server)?$/) return "grafana"
    if (b == "prometheus" || e == "prometheus") return "prometheus"
    return ""
}
function flag(cmd, name,   n, i, w, a) {
    n = split(cmd, w, " ")
    for (i = 1; i <= n; i++) {
        a = w[i]; sub(/^--?/, "", a)
        if (index(a, name "=") == 1) return substr(a, length(name) + 2)
        if (a == name && i < n) return w[i + 1]
    }
    return ""
}
function dirname(p) { if (p !~ /\//) return ""; sub(/\/[^\/]*$/, "", p); return p }
function port_of(addr) { if (addr == "") return ""; sub(/.*:/, "", addr); return addr }
FNR == NR && $1 == "@svc" {
    cname = $3; sub(/^\//, "", cname); cname_of[$2] = cname
    k = kind_of($4, $6)
    if (k == "") next
    kind[$2] = k; name[$2] = cname
    data[$2] = " "
    cfg = ""
    if (k == "prometheus") { data[$2] = " /prometheus " flag($7, "storage.tsdb.path") " "; lp = port_of(flag($7, "web.listen-address")); dp = 9090; cfg = flag($7, "config.file"); if (cfg == "") cfg = "/etc/prometheus/prometheus.yml" }
    if (k == "grafana") { data[$2] = " /var/lib/grafana "; lp = ""; dp = 3000; cfg = "/etc/grafana/grafana.ini" }
    if (k == "pushgateway") { data[$2] = " /pushgateway " dirname(flag($7, "persistence.file")) " "; lp = port_of(flag($7, "web.listen-address")); dp = 9091; cfg = flag($7, "web.config.file") }
    if (k == "alertmanager") { data[$2] = " /alertmanager " flag($7, "storage.path") " "; lp = port_of(flag($7, "web.listen-address")); dp = 9093; cfg = flag($7, "config.file"); if (cfg == "") cfg = "/etc/alertmanager/alertmanager.yml" }
    if (k == "node_exporter") next
    # The config directory is copied out of the container itself: what it runs with, be the
    # files mounted, baked into its image or edited inside it.
    if (cfg ~ /^\//) { copied[$2] = dirname(cfg); print "C" FS cname FS $2 FS dirname(cfg) }
    if (lp == "") lp = dp
    pub = ""
    n = split($9, ps, " ")
    for (i = 1; i <= n; i++) if (index(ps[i], lp "/tcp=") == 1) { pub = substr(ps[i], length(lp "/tcp=") + 1); break }
    print "A" FS cname FS $2 FS k FS $8 FS lp FS pub
    next
}
FNR != NR && $1 == "@mnt" && ($2 in cname_of) && !(($2 in kind) && kind[$2] == "node_exporter") {
    dst = $5; src = $4; t = $3
    sub(/\/+$/, "", dst)
    if (dst == "" || src == "/" || (($2 in data) && index(data[$2], " " dst " "))) next
    if (src ~ /^\/(proc|sys|dev|run\/docker\.sock|var\/run\/docker\.sock)(\/|$)/) next
    if (($2 in copied) && (dst == copied[$2] || index(dst, copied[$2] "/") == 1)) next
    if (t == "volume" && dst !~ /^\/etc\// && dst !~ /(provisioning|dashboards|rules|conf)/) next
    if (t != "volume" && t != "bind") next
    # Another service's mounts: single files and read-only folders are its configuration;
    # a writable folder is data, never read.
    if (!($2 in kind)) { if (t != "bind") next; print "X" FS cname_of[$2] FS t FS src FS dst FS $6; next }
    print "M" FS name[$2] FS t FS src FS dst
}
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

read_configs_and_apis() {
    awk -F"$US" -v OFS="$US" "$PLAN_AWK" "$tmp/side" "$tmp/side" >"$tmp/plan"
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
    while IFS="$US" read -r tag a_name a_id a_kind a_running a_port a_pub; do
        [ "$tag" = A ] || continue
        case "$a_kind" in
            prometheus) a_paths="/api/v1/status/config /api/v1/status/flags /api/v1/status/buildinfo /api/v1/targets" ;;
            pushgateway) a_paths="/api/v1/status" ;;
            grafana) a_paths="/api/health" ;;
            alertmanager) a_paths="/api/v2/status" ;;
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
            ask_api "$a_name" "$a_id" "$a_running" "$a_base" "$a_port" "$a_path"
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
    q_name=$1 q_id=$2 q_running=$3 q_base=$4 q_port=$5 q_path=$6
    q_code=000 q_via=host q_err=
    if [ -n "$q_base" ]; then
        q_code=$(http_get "$q_base$q_path")
        [ "$q_code" = 000 ] && q_err="$q_base$q_path: $(first_line "$tmp/herr")"
    else
        q_err="port $q_port is not published"
    fi
    if [ "$q_code" = 000 ] && [ "$q_running" = true ]; then
        # Not reachable from the host: ask from inside the container (busybox wget).
        q_via=container
        : >"$tmp/body"
        if $TMO docker exec "$q_id" wget -q -O - "http://127.0.0.1:$q_port$q_path" \
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
    if probe_docker; then
        inspect_containers
        inspect_volumes_and_networks
        compose_projects
        read_configs_and_apis
        compose_versions
    fi
    while [ $# -gt 0 ]; do
        case "$1" in
            --dir)
                if [ $# -ge 2 ]; then emit_directory "$2"; shift; else problem "--dir needs a directory"; fi ;;
            *) problem "unknown probe argument: $1" ;;
        esac
        shift
    done
    printf '{"k":"end"}\n'
}

# Everything runs from one function called on the last line: the shell has read the whole
# script before any command runs, so nothing below can swallow script text from stdin.
main "$@" </dev/null
