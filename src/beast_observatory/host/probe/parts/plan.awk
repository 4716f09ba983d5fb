# Which containers run a known service, which of their mounts hold configuration, and where
# their APIs listen. Reads the "@" lines of docker inspect twice (first @svc, then @mnt) and
# prints, fields separated by US:
#   C name id dir                          a known service's config directory, to copy out
#   M name type source destination         a known service's mount to read (outside that dir)
#   X name type source destination rw      another container's bind mount (read when it is a
#                                          file or a read-only folder)
#   A name id kind running port published  an API to ask
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
# The path a server is under: --web.route-prefix, else the path of --web.external-url.
function prefix(cmd,   p, e) {
    p = flag(cmd, "web.route-prefix")
    if (p == "") { e = flag(cmd, "web.external-url"); if (e != "") { sub(/^[A-Za-z]+:\/\/[^\/]*/, "", e); p = e } }
    sub(/\/+$/, "", p)
    return p
}
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
    # node-exporter has no config folder of its own: its mounts are read like another
    # service's (single files and read-only folders).
    if (k == "node_exporter") { delete kind[$2]; next }
    # The config directory is copied out of the container itself: what it runs with, be the
    # files mounted, baked into its image or edited inside it.
    if (cfg ~ /^\//) { copied[$2] = dirname(cfg); print "C" FS cname FS $2 FS dirname(cfg) }
    if (lp == "") lp = dp
    pub = ""
    n = split($9, ps, " ")
    for (i = 1; i <= n; i++) if (index(ps[i], lp "/tcp=") == 1) { pub = substr(ps[i], length(lp "/tcp=") + 1); break }
    print "A" FS cname FS $2 FS k FS $8 FS lp FS pub FS prefix($7)
    next
}
FNR != NR && $1 == "@mnt" && ($2 in cname_of) {
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
