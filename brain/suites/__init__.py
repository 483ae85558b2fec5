"""The suites: every named set of turns a model is judged on, in one registry.

A suite is a name, what it tests, and either
- `draw(rng, rules) -> Case`: a held-out suite (iid, edge, wide, crowded, long, boundary); `held_out` keeps the
  cases whose input block hashes to the test split, drawn with an evaluation seed no training run uses; or
- `run(Run) -> dict`: a failure-first suite (perturb, order, ood, probe, chain; docs/evaluation.md), a function
  of the resolver that fills the shared `Run` (its answer cache and judged records, which the metrics read).

Every suite draws from `Run.seed` (`rpg-brain eval --seed S`), so another seed is another sample of each.

A new suite is one module here that calls `brain.suites.registry.register(Suite(...))`, imported below;
`rpg-brain eval --suite NAME` and `brain.failures.run_all` find it in SUITES.
"""

from brain.suites.registry import EVAL_SEED, SUITES, Run, Suite, held_out, register

__all__ = ["EVAL_SEED", "SUITES", "Run", "Suite", "held_out", "register"]

# each registers itself; this order is the order of `run_all`'s results
from brain.suites import long, boundary, ood, probe, order, perturb, chain  # noqa: F401, I001
