import time, pytest
from .remote_fixtures import make_remote_stack, sshd
pytestmark = pytest.mark.e2e

def test_explore(make_remote_stack):
    stack = make_remote_stack(name="explore")
    for args in (("plan",), ("apply", "--auto-approve", "--scrape-wait", "30", "--timeout", "60"), ("plan",), ("apply", "--auto-approve"), ("plan", "--output", "json")):
        t = time.monotonic()
        r, n = stack.measured(*args)
        print(f"==== {args} {time.monotonic()-t:.1f}s rt={n}\n", r.explain())
    print(sorted(p.relative_to(stack.deploy_dir) for p in stack.deploy_dir.rglob("*")))
