# Wait until Swarm has done what docker stack deploy asked: every service of the stack runs
# as many tasks as it should, each one made from the service's current spec (image, arguments, environment, labels,
# mounts, configs, secrets) and running
# (healthy, where it has a healthcheck), and no update is under way. Stops early when an
# update is paused or rolled back (it failed). Prints one line per service:
#   service NAME DESIRED RUNNING UPDATE_STATE
# and "error NAME MESSAGE" for the last error of a task that failed.
#
# Usage: converge.sh PROJECT TIMEOUT_SECONDS
# Exit 0 converged, 1 not within the timeout, 2 an update failed.
project=$1 timeout=$2
label="label=com.docker.stack.namespace=$project"
end=$(($(date +%s) + timeout))
# What a task is made of (a task's spec lacks the defaults its service's spec has filled in,
# so they are compared on these fields)
fields='{{.Image}} {{json .Args}} {{json .Env}} {{json .Labels}} {{json .Mounts}} {{json .Configs}} {{json .Secrets}}'
look() {
    report="" pending=0 failed=0
    for id in $(docker service ls -q --filter "$label"); do
        name=$(docker service inspect --format '{{.Spec.Name}}' "$id")
        want=$(docker service inspect --format "{{with .Spec.TaskTemplate.ContainerSpec}}$fields{{end}}" "$id")
        state=$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{else}}none{{end}}' "$id")
        desired=$(docker service ls --filter "id=$id" --format '{{.Replicas}}' | sed 's|^[0-9]*/\([0-9]*\).*|\1|')
        running=0 current=0
        for task in $(docker service ps -q --filter desired-state=running "$id"); do
            spec=$(docker inspect --format "{{with .Spec.ContainerSpec}}$fields{{end}}" "$task")
            status=$(docker inspect --format '{{.Status.State}}' "$task")
            [ "$spec" = "$want" ] || continue
            current=$((current + 1))
            [ "$status" = running ] && running=$((running + 1))
        done
        case $state in paused | rollback_*) failed=1 ;; esac
        case $state in updating | rollback_started) pending=1 ;; esac
        [ "$running" = "$desired" ] && [ "$current" = "$desired" ] || pending=1
        report="${report}service $name $desired $running $state
"
    done
}
while :; do
    look
    if [ "$failed" = 1 ] || [ "$pending" = 0 ] || [ "$(date +%s)" -ge "$end" ]; then break; fi
    sleep 1
done
printf '%s' "$report"
if [ "$pending" = 1 ] || [ "$failed" = 1 ]; then
    for id in $(docker service ls -q --filter "$label"); do
        docker service ps --no-trunc --format '{{.Name}} {{.Error}}' "$id" |
            awk 'NF > 1 { sub(/\.[^ ]* /, " "); print "error " $0; exit }'
    done
fi
[ "$failed" = 1 ] && exit 2
[ "$pending" = 1 ] && exit 1
exit 0
