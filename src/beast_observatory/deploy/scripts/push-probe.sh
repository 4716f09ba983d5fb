# Push a probe metric to the Pushgateway, read it back, delete it. Prints "ok", or "no-curl"
# when the host has no curl (the probe is then skipped).
#
# Usage: push-probe.sh URL
set -e
url=$1
job=observatory_apply_probe
command -v curl >/dev/null 2>&1 || { echo no-curl; exit 0; }
printf '%s 1\n' "$job" | curl -fsS -m 5 --data-binary @- "$url/metrics/job/$job"
curl -fsS -m 5 "$url/api/v1/metrics" | grep -q "$job"
curl -fsS -m 5 -X DELETE "$url/metrics/job/$job"
echo ok
