# The redactor: one line in, the same line out with secret values replaced by
# <redacted sha256:...>. mode (records, ini, json, yaml), sha (the sha256 command), hashfile
# and side come from redact() in redact.sh; secret_name(name) and secret_under(key) come
# before this program (build.py writes them from beast_observatory/secret_rules.py).
BEGIN {
    blk = -1; sblk = -1; ublk = -1; q = sprintf("%c", 39); dq = "\""
    for (i = 1; i < 32; i++) ctl[sprintf("%c", i)] = i
    # scheme://user:password@ - in a file (quotes end a value) and in a value of its own.
    URL_Q = "[A-Za-z][A-Za-z0-9+.-]*://[^/?#@: \t\r\n\"']*:[^/?# \t\r\n\"']*@"
    URL_RAW = "[A-Za-z][A-Za-z0-9+.-]*://[^/?#@: \t\r\n]*:[^/?# \t\r\n]*@"
    URL_JSON = "[A-Za-z][A-Za-z0-9+.-]*://([^/?#@: \t\r\n\"\\\\]|\\\\.)*:([^/?# \t\r\n\"\\\\]|\\\\.)*@"
    # curl/wget's -u (also in a bundle such as -fsSu), --user, --proxy-user.
    UFLAG = "(-[A-Za-z]*u|--user|--proxy-user)"
}
# A reference, also written for compose ($$VAR: a $ the shell sees).
function ref_value(v) { return is_ref(substr(v, 1, 2) == "$$" ? substr(v, 2) : v) }
function is_ref(v) {
    if (v == "" || v ~ /^<redacted/ || v == "<secret>") return 1
    if (v ~ /^\$[A-Za-z_][A-Za-z0-9_]*$/) return 1
    # ${VAR}, ${VAR:?message}, ${VAR:-} (empty default): a reference. ${VAR:-value} is not:
    # its default is the value whenever VAR is unset.
    if (v ~ /^\$\{[A-Za-z_][A-Za-z0-9_]*(:?\?[^}]*|:?-)?\}$/) return 1
    return v ~ /^\$__(env|file|vault)\{[^}]*\}$/
}
function unq(v,   f, l) {
    f = substr(v, 1, 1); l = substr(v, length(v), 1)
    if (length(v) >= 2 && f == l && (f == dq || f == q)) return substr(v, 2, length(v) - 2)
    return v
}
# A secret value as it is sent: ${NAME:-default} keeps NAME (a reference) and hides the
# default, which is the secret whenever NAME is unset; anything else is hidden whole.
function markv(v,   n) {
    if (match(v, /^\$\{[A-Za-z_][A-Za-z0-9_]*:?-/) && substr(v, length(v)) == "}" && RLENGTH < length(v) - 1) {
        n = RLENGTH
        return substr(v, 1, n) mark(substr(v, n + 1, length(v) - n - 1)) "}"
    }
    return mark(v)
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
                return pre substr(body, 1, eq) markv(jdecode(substr(body, eq + 1))) "\"}"
        }
    }
    new = isarg ? creds(val, 1, 0) : urlcreds(val, 1, 0)
    if (new == val) return line
    return pre jencode(new) "\"}"
}
# "key = value" or "key: value": as configparser reads ini files, the first = or : ends the key.
# busybox httpd.conf: "/path:user:password" protects path; the password is the third field.
function httpdline(line,   p) {
    if (line !~ /^\/[^:]*:[^:]+:./) return line
    p = index(substr(line, 2), ":") + 1
    p = p + index(substr(line, p + 1), ":")
    return substr(line, 1, p) mark(substr(line, p + 1))
}
function iniline(line,   p, key, val, k, v, lead) {
    if (line ~ /^[ \t]*[;#\[]/) return line
    if (!match(line, /[=:]/)) return line
    p = RSTART
    key = substr(line, 1, p - 1); val = substr(line, p + 1)
    k = key; sub(/^[ \t]*(export[ \t]+)?/, "", k); sub(/[ \t]+$/, "", k)
    v = val; sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
    if (!secret_name(k) || v == "") return line
    if (length(v) >= 6 && substr(v, 1, 3) == "\"\"\"" && substr(v, length(v) - 2) == "\"\"\"") v = substr(v, 4, length(v) - 6)
    else v = unq(v)
    if (is_ref(v)) return line
    match(val, /^[ \t]*/)
    return key substr(line, p, 1) substr(val, 1, RLENGTH) markv(v)
}
function jsonline(line,   out, rest, m, key, p, vpart, val) {
    out = ""; rest = line
    while (match(rest, /"[A-Za-z0-9_.-]*"[ \t]*:[ \t]*"([^"\\]|\\.)*"/)) {
        m = substr(rest, RSTART, RLENGTH)
        key = substr(m, 2); key = substr(key, 1, index(key, "\"") - 1)
        p = index(m, ":"); vpart = substr(m, p + 1); sub(/^[ \t]*/, "", vpart)
        val = substr(vpart, 2, length(vpart) - 2)
        if (secret_name(key) && !is_ref(val))
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
    return qc substr(r, 1, RLENGTH) markv(val) qc
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
function yamlline(line,   ind, body, item, rest, n, keyraw, key, val, v, cm, p, uv, f, u) {
    match(line, /^[ \t]*/); ind = RLENGTH; body = substr(line, ind + 1)
    if (sblk >= 0) {
        if (body == "") return line
        if (ind > sblk) return substr(line, 1, ind) mark(body)
        sblk = -1
    }
    if (blk >= 0 && body != "" && ind <= blk) blk = -1
    if (body ~ /^#/) return line
    # A block of secret_under keys ends where a line is no deeper than its key (a "- " item
    # at the key's own indentation is still its value).
    if (ublk >= 0 && body != "" && (ind < ublk || (ind == ublk && substr(body, 1, 2) != "- "))) ublk = -1
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
    if (v == "" && (u = secret_under(key)) != "") { ublk = ind; ukeys = u; return line }
    if (!(blk >= 0 && ind > blk) && !secret_name(key) && !(ublk >= 0 && index(ukeys, " " key " "))) return line
    if (v == "") return line
    if (v ~ /^[|>][-+0-9]*$/) { sblk = ind; return line }
    uv = unq(v)
    if (is_ref(uv)) return line
    if (uv != v) return substr(line, 1, ind) item keyraw "\"" markv(uv) "\"" cm
    return substr(line, 1, ind) item keyraw markv(uv) cm
}
{
    if (mode == "records") { out = record($0); if (out != "") print out }
    else if (mode == "ini") print creds(iniline($0), 0, 0)
    else if (mode == "httpd") print httpdline($0)
    else if (mode == "json") print creds(jsonline($0), 0, 1)
    else print creds(useritem(yamlline($0)), 0, 0)
}
