#!/usr/bin/env bash
# Build the local images that the end-to-end tests run, from Debian's packages.
#
# No container registry can be reached on the development and CI machines, so the
# upstream images (prom/prometheus, prom/pushgateway, prom/alertmanager,
# prom/node-exporter, busybox, grafana/grafana) cannot be pulled. Instead each image is a
# root filesystem assembled here and turned into an image with `docker import`:
#
#   - the Debian binary (and its exact shared-library dependencies, found with ldd),
#   - /bin/busybox (busybox-static) with its applet links (sh, wget, cat, nc, ...), as in
#     the busybox-based upstream images, so that a compose healthcheck such as
#     `wget -qO- http://localhost:9090/-/ready` runs unchanged here and in the field,
#   - /etc/passwd + /etc/group with root and nobody (65534), an empty /tmp (1777),
#   - the upstream image's layout: ENTRYPOINT, default CMD, WORKDIR, USER nobody and
#     data directories owned by nobody, so volume permissions behave as in the field.
#
# Grafana has no binary here: observatory-test/grafana-standin:debian is a clearly
# named STAND-IN (busybox httpd answering /api/health like Grafana does), not Grafana.
#
# Idempotent and fast: every image carries the label org.beast-observatory.fingerprint,
# the sha256 of its recipe (this script's functions) and of every file copied into it.
# An image whose fingerprint matches is left alone.
#
# Usage: scripts/build-test-images.sh [--force] [NAME...]
#   NAME is one of: prometheus pushgateway alertmanager node-exporter busybox grafana-standin
#   nginx victoria-metrics (default: all). The image tags are observatory-test/NAME:debian.
set -euo pipefail

REPO="observatory-test"
TAG="debian"
LABEL_TEST="org.beast-observatory.test=1"
LABEL_FP="org.beast-observatory.fingerprint"
LABEL_BIN="org.beast-observatory.binary-sha256"
ALL_IMAGES=(prometheus pushgateway alertmanager node-exporter busybox grafana-standin nginx
    victoria-metrics)
NOBODY=65534
GRAFANA_UID=472
NGINX_UID=101

FORCE=0
SELECTED=()
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) SELECTED+=("$arg") ;;
    esac
done
if [ "${#SELECTED[@]}" -eq 0 ]; then
    SELECTED=("${ALL_IMAGES[@]}")
fi

log() { printf 'build-test-images: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v docker >/dev/null || die "docker not found (run scripts/ci-setup.sh first)"
docker info >/dev/null 2>&1 || die "the Docker daemon does not answer (run scripts/ci-setup.sh first)"
BUSYBOX="$(command -v busybox || true)"
[ -n "$BUSYBOX" ] || die "busybox not found: apt-get install busybox-static"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
    die "$BUSYBOX is dynamically linked: apt-get install busybox-static"
fi

# Resolve a command name to the real file (Debian names: prometheus-pushgateway, ...).
need_bin() {
    local path
    path="$(command -v "$1" || true)"
    [ -n "$path" ] || die "$1 not found: apt-get install $2"
    readlink -f "$path"
}

# Copy FILE (dereferenced) into ROOT at the same path, creating parents.
copy_same_path() {
    local root="$1" file="$2"
    mkdir -p "$root$(dirname "$file")"
    cp -L "$file" "$root$file"
}

# Copy a dynamically linked binary to ROOT/DEST with every shared library that ldd
# lists (at the paths the loader asks for, so no ld.so.cache is needed).
install_binary() {
    local root="$1" src="$2" dest="$3" lib
    mkdir -p "$root$(dirname "$dest")"
    cp -L "$src" "$root$dest"
    chmod 0755 "$root$dest"
    # ldd prints "libc.so.6 => /lib/.../libc.so.6 (0x..)" and "/lib64/ld-linux-x86-64.so.2 (0x..)";
    # linux-vdso has no file. A static binary makes ldd fail: nothing to copy then.
    if ldd "$src" >/dev/null 2>&1; then
        while read -r lib; do
            [ -n "$lib" ] || continue
            copy_same_path "$root" "$lib"
        done < <(ldd "$src" | awk '/=>/ { if ($3 ~ /^\//) print $3; next } $1 ~ /^\// { print $1 }')
    fi
}

# The common base of every image: busybox and its applets, users, /tmp, nsswitch.
make_base() {
    local root="$1" applet
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home,var,proc,sys,dev}
    chmod 1777 "$root/tmp"
    chmod 0700 "$root/root"
    cp -L "$BUSYBOX" "$root/bin/busybox"
    chmod 0755 "$root/bin/busybox"
    # Every applet as a link in /bin, as the busybox image has them; never shadow a real file.
    for applet in $("$BUSYBOX" --list); do
        [ "$applet" = busybox ] && continue
        [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
    done
    ln -sf ../../bin/env "$root/usr/bin/env"
    cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
nobody:x:$NOBODY:$NOBODY:nobody:/home:/bin/false
EOF
    cat >"$root/etc/group" <<EOF
root:x:0:
nobody:x:$NOBODY:
nogroup:x:$NOBODY:
EOF
    printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
}

# ---------------------------------------------------------------- recipes
# Each recipe sets INPUTS (the host files it copies, for the fingerprint) and MAIN_BIN;
# given a ROOT it then fills it and prints the `docker import --change` lines, one a line.

recipe_prometheus() {
    local root="$1" prom promtool
    prom="$(need_bin prometheus prometheus)"
    promtool="$(need_bin promtool prometheus)"
    INPUTS=("$prom" "$promtool")
    MAIN_BIN="$prom"
    [ -n "$root" ] || return 0  # dry run: only INPUTS/MAIN_BIN for the fingerprint
    make_base "$root"
    install_binary "$root" "$prom" /bin/prometheus
    install_binary "$root" "$promtool" /bin/promtool
    mkdir -p "$root/etc/prometheus" "$root/prometheus"
    # A minimal default config like the upstream image's: Prometheus scrapes itself.
    cat >"$root/etc/prometheus/prometheus.yml" <<'EOF'
global:
  scrape_interval: 15s
  evaluation_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]
EOF
    chown -R "$NOBODY:$NOBODY" "$root/etc/prometheus" "$root/prometheus"
    cat <<'EOF'
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
WORKDIR /prometheus
USER nobody
EXPOSE 9090
VOLUME ["/prometheus"]
EOF
}

recipe_pushgateway() {
    local root="$1" pgw
    pgw="$(need_bin prometheus-pushgateway prometheus-pushgateway)"
    INPUTS=("$pgw")
    MAIN_BIN="$pgw"
    [ -n "$root" ] || return 0  # dry run: only INPUTS/MAIN_BIN for the fingerprint
    make_base "$root"
    install_binary "$root" "$pgw" /bin/pushgateway
    # Upstream prom/pushgateway: WORKDIR /pushgateway, USER nobody (and no data volume).
    mkdir -p "$root/pushgateway"
    chown "$NOBODY:$NOBODY" "$root/pushgateway"
    cat <<'EOF'
ENTRYPOINT ["/bin/pushgateway"]
WORKDIR /pushgateway
USER nobody
EXPOSE 9091
EOF
}

recipe_alertmanager() {
    local root="$1" am amtool tmpl
    am="$(need_bin prometheus-alertmanager prometheus-alertmanager)"
    amtool="$(need_bin amtool prometheus-alertmanager)"
    tmpl=/usr/share/prometheus/alertmanager
    [ -f "$tmpl/default.tmpl" ] || die "$tmpl/default.tmpl missing: apt-get install prometheus-alertmanager"
    INPUTS=("$am" "$amtool" "$tmpl/default.tmpl" "$tmpl/email.tmpl")
    MAIN_BIN="$am"
    [ -n "$root" ] || return 0  # dry run: only INPUTS/MAIN_BIN for the fingerprint
    make_base "$root"
    install_binary "$root" "$am" /bin/alertmanager
    install_binary "$root" "$amtool" /bin/amtool
    # Debian's Alertmanager loads its built-in templates from here: it fails without them.
    mkdir -p "$root$tmpl"
    cp -rL "$tmpl/." "$root$tmpl/"
    mkdir -p "$root/etc/alertmanager" "$root/alertmanager"
    cat >"$root/etc/alertmanager/alertmanager.yml" <<'EOF'
route:
  receiver: default
receivers:
  - name: default
EOF
    chown -R "$NOBODY:$NOBODY" "$root/etc/alertmanager" "$root/alertmanager"
    cat <<'EOF'
ENTRYPOINT ["/bin/alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
WORKDIR /alertmanager
USER nobody
EXPOSE 9093
VOLUME ["/alertmanager"]
EOF
}

recipe_node-exporter() {
    local root="$1" ne
    ne="$(need_bin prometheus-node-exporter prometheus-node-exporter)"
    INPUTS=("$ne")
    MAIN_BIN="$ne"
    [ -n "$root" ] || return 0  # dry run: only INPUTS/MAIN_BIN for the fingerprint
    make_base "$root"
    install_binary "$root" "$ne" /bin/node_exporter
    # Debian's build reads its textfile collector from here: an empty one keeps the log quiet.
    mkdir -p "$root/var/lib/prometheus/node-exporter"
    cat <<'EOF'
ENTRYPOINT ["/bin/node_exporter"]
USER nobody
EXPOSE 9100
EOF
}

recipe_busybox() {
    local root="$1"
    INPUTS=("$BUSYBOX")
    MAIN_BIN="$BUSYBOX"
    [ -n "$root" ] || return 0  # dry run: only INPUTS/MAIN_BIN for the fingerprint
    make_base "$root"
    cat <<'EOF'
CMD ["sh"]
EOF
}

# A STAND-IN for Grafana, which has no binary here: busybox httpd on :3000 answering
# /api/health with the JSON Grafana answers. Laid out like grafana/grafana (user 472,
# /etc/grafana, /var/lib/grafana, /run.sh) so the generated compose service runs on it
# unchanged: its mounts and GF_* variables are accepted and ignored.
recipe_grafana-standin() {
    local root="$1"
    INPUTS=("$BUSYBOX")
    MAIN_BIN="$BUSYBOX"
    [ -n "$root" ] || return 0  # dry run: only INPUTS/MAIN_BIN for the fingerprint
    make_base "$root"
    printf 'grafana:x:%s:0:grafana stand-in:/usr/share/grafana:/bin/sh\n' "$GRAFANA_UID" >>"$root/etc/passwd"
    mkdir -p "$root/www/api" "$root/etc/grafana/provisioning" "$root/var/lib/grafana" \
        "$root/var/log/grafana" "$root/usr/share/grafana"
    printf '{"database":"ok","version":"standin","commit":"standin"}' >"$root/www/api/health"
    # grafana/grafana ships conf/sample.ini as /etc/grafana/grafana.ini: section headers and
    # every setting commented out (so the defaults apply). The same shape here, so that a
    # hand-made stack that edits it in the running container finds it where Grafana has it.
    cat >"$root/etc/grafana/grafana.ini" <<'EOF'
##################### Grafana Configuration Example #####################
#
# Everything has defaults so you only need to uncomment things you want to
# change

# possible values : production, development
;app_mode = production

#################################### Paths ####################################
[paths]
# Path to where grafana can store temp files, sessions, and the sqlite3 db (if that is used)
;data = /var/lib/grafana

# Directory where grafana can store logs
;logs = /var/log/grafana

# folder that contains provisioning config files that grafana will apply on startup and while running.
;provisioning = conf/provisioning

#################################### Server ####################################
[server]
# Protocol (http, https, h2, socket)
;protocol = http

# The http port  to use
;http_port = 3000

# The public facing domain name used to access grafana from a browser
;domain = localhost

# The full public facing url you use in browser, used for redirects and emails
;root_url = %(protocol)s://%(domain)s:%(http_port)s/

# Serve Grafana from subpath specified in `root_url` setting. By default it is set to `false` for compatibility reasons.
;serve_from_sub_path = false

#################################### Security ####################################
[security]
# default admin user, created on startup
;admin_user = admin

# default admin password, can be changed before first start of grafana,  or in profile settings
;admin_password = admin

#################################### Users ###############################
[users]
# disable user signup / registration
;allow_sign_up = false

#################################### Anonymous Auth ######################
[auth.anonymous]
# enable anonymous access
;enabled = false
EOF
    # Grafana serves /metrics and the generated prometheus.yml scrapes it: answer the same way.
    printf '# HELP grafana_standin_info A stand-in for Grafana in tests.\n# TYPE grafana_standin_info gauge\ngrafana_standin_info 1\n' \
        >"$root/www/metrics"
    printf '<html><body><h1>Grafana stand-in</h1><p>This is not Grafana: a test stand-in that only answers /api/health and /metrics.</p></body></html>\n' \
        >"$root/www/index.html"
    cat >"$root/run.sh" <<'EOF'
#!/bin/sh
# beast-observatory test image: a STAND-IN for Grafana, not Grafana.
echo "grafana-standin: NOT Grafana - busybox httpd on :3000 answering /api/health for tests"
for v in $(env | sed -n 's/^\(GF_[A-Za-z0-9_]*\)=.*/\1/p'); do
    echo "grafana-standin: ignoring $v"
done
for d in /etc/grafana/provisioning /var/lib/grafana; do
    [ -d "$d" ] && echo "grafana-standin: mounted $d: $(ls "$d" 2>/dev/null | tr '\n' ' ')"
done
# httpd as PID 1 would ignore SIGTERM (docker stop would wait 10 s and kill it); Grafana
# stops on SIGTERM, so the stand-in does too: the shell traps it and exits, taking httpd along.
trap 'echo "grafana-standin: stopping"; kill "$pid" 2>/dev/null; exit 0' TERM INT
httpd -f -v -p 3000 -h /www &
pid=$!
wait "$pid"
EOF
    chmod 0755 "$root/run.sh"
    chown -R "$GRAFANA_UID:0" "$root/etc/grafana" "$root/var/lib/grafana" "$root/var/log/grafana" \
        "$root/usr/share/grafana"
    cat <<'EOF'
ENTRYPOINT ["/run.sh"]
WORKDIR /usr/share/grafana
USER 472
EXPOSE 3000
EOF
}

# nginx from Debian's nginx-light, laid out like the upstream nginx image: /etc/nginx/nginx.conf
# including conf.d/*.conf, a default server on :80 serving /usr/share/nginx/html, logs to
# the container's stdout/stderr, workers as user nginx (101), `nginx -g 'daemon off;'` as CMD.
# (Upstream also sets STOPSIGNAL SIGQUIT; `docker import --change` of engine 20.10 refuses
# STOPSIGNAL, so `docker stop` sends SIGTERM: nginx's fast shutdown.) Debian's build keeps its
# temp files in /var/lib/nginx and its pid in /run/nginx.pid: both exist and are writable.
recipe_nginx() {
    local root="$1" nginx mime
    nginx="$(need_bin nginx nginx-light)"
    mime=/etc/nginx/mime.types
    [ -f "$mime" ] || die "$mime missing: apt-get install nginx-light"
    INPUTS=("$nginx" "$mime")
    MAIN_BIN="$nginx"
    [ -n "$root" ] || return 0  # dry run: only INPUTS/MAIN_BIN for the fingerprint
    make_base "$root"
    install_binary "$root" "$nginx" /usr/sbin/nginx
    printf 'nginx:x:%s:%s:nginx user:/nonexistent:/bin/false\n' "$NGINX_UID" "$NGINX_UID" >>"$root/etc/passwd"
    printf 'nginx:x:%s:\n' "$NGINX_UID" >>"$root/etc/group"
    mkdir -p "$root/etc/nginx/conf.d" "$root/usr/share/nginx/html" "$root/var/log/nginx" \
        "$root/var/lib/nginx" "$root/var/cache/nginx" "$root/run"
    cp -L "$mime" "$root/etc/nginx/mime.types"
    ln -sf /dev/stdout "$root/var/log/nginx/access.log"
    ln -sf /dev/stderr "$root/var/log/nginx/error.log"
    cat >"$root/etc/nginx/nginx.conf" <<'EOF'
user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /run/nginx.pid;

events {
    worker_connections  1024;
}

http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    keepalive_timeout  65;

    include /etc/nginx/conf.d/*.conf;
}
EOF
    cat >"$root/etc/nginx/conf.d/default.conf" <<'EOF'
server {
    listen       80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }
}
EOF
    printf '<html><body><h1>nginx (beast-observatory test image)</h1></body></html>\n' \
        >"$root/usr/share/nginx/html/index.html"
    chown -R "$NGINX_UID:$NGINX_UID" "$root/var/lib/nginx" "$root/var/cache/nginx"
    cat <<'EOF'
CMD ["nginx", "-g", "daemon off;"]
EXPOSE 80
EOF
}

# VictoriaMetrics single-node from Debian's victoria-metrics, laid out like the upstream
# victoriametrics/victoria-metrics image: /victoria-metrics-prod as ENTRYPOINT, run as root,
# data in ./victoria-metrics-data of WORKDIR / unless -storageDataPath says otherwise; :8428
# takes Prometheus remote_write (/api/v1/write) and answers PromQL (/api/v1/query).
recipe_victoria-metrics() {
    local root="$1" vm
    vm="$(need_bin victoria-metrics victoria-metrics)"
    INPUTS=("$vm")
    MAIN_BIN="$vm"
    [ -n "$root" ] || return 0  # dry run: only INPUTS/MAIN_BIN for the fingerprint
    make_base "$root"
    install_binary "$root" "$vm" /victoria-metrics-prod
    mkdir -p "$root/victoria-metrics-data"
    cat <<'EOF'
ENTRYPOINT ["/victoria-metrics-prod"]
WORKDIR /
EXPOSE 8428
EOF
}

# ---------------------------------------------------------------- build

# Fingerprint: the recipe and helper code plus the sha256 of every host file copied.
fingerprint() {
    local name="$1"
    shift
    {
        declare -f make_base install_binary copy_same_path "recipe_$name"
        printf '%s\n' "$BUSYBOX"
        sha256sum "$BUSYBOX" "$@"
        if ldd "$MAIN_BIN" >/dev/null 2>&1; then
            ldd "$MAIN_BIN" | awk '/=>/ { if ($3 ~ /^\//) print $3; next } $1 ~ /^\// { print $1 }' \
                | xargs -r readlink -f | xargs -r sha256sum
        fi
    } | sha256sum | cut -d' ' -f1
}

current_label() {
    docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

build_one() {
    local name="$1" image="$REPO/$1:$TAG" work changes fp have line
    local -a change_args=()
    declare -F "recipe_$name" >/dev/null || die "unknown image '$name' (one of: ${ALL_IMAGES[*]})"
    work="$WORKROOT/$name"
    rm -rf "$work"
    mkdir -p "$work"
    # Recipes set INPUTS/MAIN_BIN: call them in this shell (not in a subshell) for that.
    "recipe_$name" ""
    fp="$(fingerprint "$name" "${INPUTS[@]}")"
    have="$(current_label "$image" "$LABEL_FP")"
    if [ "$FORCE" -eq 0 ] && [ "$have" = "$fp" ]; then
        printf 'up to date  %-45s %s\n' "$image" "$(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.1f MB", $1/1e6}')"
        return 0
    fi
    "recipe_$name" "$work/root" >"$work/changes"
    changes="$(cat "$work/changes")"
    while IFS= read -r line; do
        [ -n "$line" ] && change_args+=(--change "$line")
    done <<<"$changes"
    change_args+=(
        --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        --change "LABEL $LABEL_TEST"
        --change "LABEL $LABEL_FP=$fp"
        --change "LABEL $LABEL_BIN=$(sha256sum "$MAIN_BIN" | cut -d' ' -f1)"
        --change "LABEL org.beast-observatory.source=debian:$MAIN_BIN"
    )
    tar --numeric-owner -C "$work/root" -c . \
        | docker import "${change_args[@]}" --message "beast-observatory test image $name" - "$image" >/dev/null
    rm -rf "$work"
    printf 'built       %-45s %s\n' "$image" "$(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.1f MB", $1/1e6}')"
}

WORKROOT="$(mktemp -d /tmp/obs-images-XXXXXX)"
trap 'rm -rf "$WORKROOT"' EXIT
for name in "${SELECTED[@]}"; do
    build_one "$name"
done
# Imports that replaced an older build leave the old image dangling: drop ours only.
docker image prune -f --filter "label=$LABEL_TEST" >/dev/null 2>&1 || true
