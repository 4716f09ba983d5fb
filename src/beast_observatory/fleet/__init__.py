"""A fleet of monitored hosts: exporters deployed over SSH to every host, scraped by the
environment's own Prometheus through file_sd files.

    model   (pure)  the spec's ``environments.<env>.fleet`` section
    resolve (pure)  each host's exporters (fleet defaults with the host's overrides)
    render  (pure)  a Bundle per host (its exporters' compose project), the file_sd files and
                    scrape jobs the environment's Prometheus gets
    checks  (pure)  what validate says about a fleet
    run             several hosts at once, a bounded number in flight, each on its own
                    connection; outcomes as they finish
    deploy          plan and apply of one host with the single-host machinery (lock, staged
                    release, switch, verify, rollback: deploy/apply.py)
    report  (pure)  progress lines, grouped plans, the summary table
    cli             ``observatory fleet plan|apply``
"""
