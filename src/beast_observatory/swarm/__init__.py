"""Docker Swarm as an engine (``engine: swarm``): the stack file, the plan against
``docker service inspect``, and ``docker stack deploy`` on a manager."""
