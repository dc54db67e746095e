"""Where the units of a sweep are computed: in this process, or on a Dask cluster.

An executor calls ``compute(params) -> rows`` for every pending unit and hands each result to
``on_done(index, rows)`` as soon as it is available (the caller stores it at once). Units are
self-contained and their composition depends only on the sweep file, so every executor gives the
same rows, bit for bit.

- ``local``: one unit after another, in order.
- ``dask``: ``distributed.Client(scheduler)`` for an existing cluster, else an embedded
  ``LocalCluster`` of ``workers`` single-threaded worker processes. Workers return rows to this
  process, which writes the files (no shared filesystem is assumed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["EXECUTORS", "run_units"]

EXECUTORS = ("local", "dask")


def run_units(pending: Sequence[tuple[int, dict]], compute: Callable[[dict], list],
              on_done: Callable[[int, list], None], *, executor: str = "local",
              scheduler: str | None = None, workers: int | None = None) -> None:
    """Compute ``pending`` units ((index, params) pairs) and report each through ``on_done``."""
    if executor == "local":
        if scheduler is not None:
            raise ValueError("scheduler is only used with executor='dask'")
        for index, params in pending:
            on_done(index, compute(params))
    elif executor == "dask":
        _run_dask(pending, compute, on_done, scheduler, workers)
    else:
        raise ValueError(f"executor must be one of {EXECUTORS}; got {executor!r}")


def _run_dask(pending, compute, on_done, scheduler, workers):
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ValueError("executor='dask' needs Dask distributed: pip install "
                         "'beyond-collapse[dask]'") from err
    if workers is not None and (isinstance(workers, bool) or int(workers) != workers
                                or workers < 1):
        raise ValueError(f"workers must be a positive integer; got {workers!r}")
    if not pending:
        return
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=int(workers or 2), threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        if not isinstance(scheduler, str) or not scheduler.strip():
            raise ValueError(f"scheduler must be an address such as tcp://host:8786; got "
                             f"{scheduler!r}")
        try:
            client = Client(scheduler)
        except (OSError, ValueError, TypeError) as err:  # unreachable, refused, malformed
            reason = " ".join(str(err).split()) or type(err).__name__
            raise ValueError(f"scheduler {scheduler}: cannot connect ({reason})") from None
    try:
        futures = {client.submit(compute, params, pure=False): index
                   for index, params in pending}
        try:
            for future in as_completed(futures):
                on_done(futures[future], future.result())
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
