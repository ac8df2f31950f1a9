"""Small runbooks the evaluation's tests replay: PODS and DB, and AGAIN, which repeats a
step of PODS (same cell before it, same prose) and then takes one of its own."""

from __future__ import annotations

PODS = """# api pods

Check the pods.

```sh
kubectl -n prod get pods
```

Tail the api logs for errors.

```sh
kubectl -n prod logs deploy/api --since=15m
```

Restart the worker.

```sh
kubectl -n prod rollout restart deploy/worker
```
"""

DB = """# stuck jobs

Connect to the jobs database.

```sh
psql -h db.internal -U ops jobs
```

Count the stuck jobs.

```sh
psql -h db.internal -U ops jobs -c 'select count(*) from jobs where state = 1'
```
"""

# Repeats one step of PODS (same cell before it, same prose), then a step of its own.
AGAIN = """# api pods, again

Check the pods.

```sh
kubectl -n prod get pods
```

Tail the api logs for errors.

```sh
kubectl -n prod logs deploy/api --since=15m
```

Scale the gateway up.

```sh
kubectl -n prod scale deploy/gateway --replicas=3
```
"""
