"""Bradley–Terry ratings from aggregated (model A, model B, outcome) vote counts, with bootstrap intervals.

The fit is the maximum-likelihood one (scipy's L-BFGS-B on the logistic loss, as FastChat's arena does), on a
model × model matrix of wins built from the counts: a tie or "both are bad" is half a win for each side. A small L2
penalty keeps the fit finite for a model that never won and centres every group of models that never met. The
95% intervals come from refitting on counts drawn again (multinomially) from the same aggregated rows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Iterable

import numpy as np

SCALE = 400.0
BASE = 10.0
ANCHOR = 1000.0
ROUNDS = 100
MIN_VOTES = 10
# Penalty on the mean log-loss: moves a 75/25 pair by ~0.05 points, keeps a never-winner's rating finite.
L2 = 1e-4
# Share of a win that each outcome gives model A.
SCORE_OF_A = {"a": 1.0, "b": 0.0, "tie": 0.5, "bothbad": 0.5}


@dataclass
class Rating:
    model: str
    rating: float | None
    lower: float | None
    upper: float | None
    rank: int | None
    votes: int
    wins: int
    losses: int
    ties: int
    win_rate: float | None
    note: str = ""

    @property
    def too_few(self) -> bool:
        return bool(self.note)

    def to_dict(self) -> dict:
        return asdict(self) | {"too_few": self.too_few}


@dataclass
class Leaderboard:
    rows: list[Rating]
    models: list[str]  # in the rows' order
    win_rates: np.ndarray  # [i, j]: share of i's battles against j it won (ties half), nan where never met
    battles: np.ndarray  # [i, j]: votes between i and j
    votes: int = 0
    rounds: int = ROUNDS
    seed: int = 0
    samples: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # bootstrap ratings, rows' order

    def to_dicts(self) -> list[dict]:
        return [row.to_dict() for row in self.rows]


def fit(wins: np.ndarray, l2: float = L2, start: np.ndarray | None = None) -> np.ndarray:
    """Strengths θ (natural log-odds, mean-free) maximising Σ wins[i, j]·log σ(θi − θj) / Σ wins − l2/2·|θ|²."""
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    n = wins.shape[0]
    total = wins.sum()
    if n == 0 or total <= 0:
        return np.zeros(n)
    share = wins / total

    def loss_and_grad(theta):
        diff = theta[:, None] - theta[None, :]
        loss = -(share * log_expit(diff)).sum() + 0.5 * l2 * theta @ theta
        pull = share * expit(-diff)  # d(−loss)/d diff for each (i beat j)
        grad = -(pull.sum(axis=1) - pull.sum(axis=0)) + l2 * theta
        return loss, grad

    result = minimize(loss_and_grad, np.zeros(n) if start is None else start, jac=True, method="L-BFGS-B",
                      options={"maxiter": 500, "gtol": 1e-10, "ftol": 1e-15})
    return result.x


def to_rating(theta: np.ndarray, scale: float = SCALE, base: float = BASE, anchor: float = ANCHOR) -> np.ndarray:
    """θ on the Elo-like scale: 400 points = 10 to 1 odds, the models' mean at the anchor."""
    if theta.shape[-1] == 0:
        return theta.astype(np.float64)
    return anchor + scale / math.log(base) * (theta - theta.mean(axis=-1, keepdims=True))


def leaderboard(counts: Iterable[tuple[str, str, str, int]], rounds: int = ROUNDS, seed: int = 0,
                models: Iterable[str] = (), min_votes: int = MIN_VOTES, scale: float = SCALE, base: float = BASE,
                anchor: float = ANCHOR) -> Leaderboard:
    """The ranked table from (model_a, model_b, outcome, n) rows; ``models`` adds ones without votes."""
    from scipy import sparse

    rows = [(a, b, o, int(n)) for a, b, o, n in counts if int(n) > 0 and a != b and o in SCORE_OF_A]
    voted = sorted({a for a, *_ in rows} | {b for _, b, *_ in rows})
    names = voted + sorted(set(models) - set(voted))
    m = len(voted)
    index = {name: i for i, name in enumerate(voted)}
    a = np.array([index[r[0]] for r in rows], dtype=np.int64)
    b = np.array([index[r[1]] for r in rows], dtype=np.int64)
    score = np.array([SCORE_OF_A[r[2]] for r in rows])
    weight = np.array([r[3] for r in rows], dtype=np.float64)
    total = int(weight.sum())

    # Row k adds score·n to wins[a, b] and (1 − score)·n to wins[b, a]: one sparse map for every resample.
    cells = np.concatenate([a * m + b, b * m + a])
    to_cells = sparse.csr_matrix((np.concatenate([score, 1 - score]), (np.tile(np.arange(len(rows)), 2), cells)),
                                 shape=(len(rows), m * m))
    wins = np.asarray(to_cells.T @ weight).reshape(m, m)
    theta = fit(wins)
    rating = to_rating(theta, scale, base, anchor)

    samples = np.zeros((0, m))
    if rounds > 0 and total > 0:
        rng = np.random.default_rng(seed)
        drawn = rng.multinomial(total, weight / weight.sum(), size=rounds).astype(np.float64)
        resampled_wins = np.asarray((sparse.csr_matrix(drawn) @ to_cells).todense()).reshape(rounds, m, m)
        samples = to_rating(np.array([fit(w, start=theta) for w in resampled_wins]), scale, base, anchor)
    if len(samples):
        lower, upper = np.percentile(samples, [2.5, 97.5], axis=0)
    else:
        lower, upper = rating.copy(), rating.copy()

    battles = np.zeros((m, m))
    np.add.at(battles, (a, b), weight)
    battles = battles + battles.T
    outright = np.zeros((m, m))  # outright wins of i over j
    np.add.at(outright, (a[score == 1], b[score == 1]), weight[score == 1])
    np.add.at(outright, (b[score == 0], a[score == 0]), weight[score == 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        win_rates = np.where(battles > 0, wins / battles, np.nan)

    votes = battles.sum(axis=1)
    won = outright.sum(axis=1)
    lost = outright.sum(axis=0)
    groups = _groups(battles)
    table = []
    for i, name in enumerate(voted):
        upper_i = upper[i]
        table.append(Rating(
            model=name, rating=float(rating[i]), lower=float(lower[i]), upper=float(upper_i),
            rank=1 + int((lower > upper_i + 1e-9).sum()), votes=int(votes[i]), wins=int(won[i]),
            losses=int(lost[i]), ties=int(votes[i] - won[i] - lost[i]),
            win_rate=float(won[i] / votes[i]) if votes[i] else None,
            note=_note(i, voted, int(votes[i]), battles, groups, min_votes)))
    table += [Rating(model=name, rating=None, lower=None, upper=None, rank=None, votes=0, wins=0, losses=0, ties=0,
                     win_rate=None, note="no votes yet") for name in names[m:]]
    order = sorted(range(len(table)), key=lambda k: (table[k].rating is None, -(table[k].rating or 0),
                                                     table[k].model))
    keep = [k for k in order if k < m]
    return Leaderboard(
        rows=[table[k] for k in order], models=[table[k].model for k in order],
        win_rates=win_rates[np.ix_(keep, keep)], battles=battles[np.ix_(keep, keep)], votes=total, rounds=rounds,
        seed=seed, samples=samples[:, keep] if len(samples) else np.zeros((0, len(keep))))


def _groups(battles: np.ndarray) -> np.ndarray:
    """For each model, the number of the group of models linked to it by a chain of votes."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    if battles.shape[0] == 0:
        return np.zeros(0, dtype=int)
    return connected_components(sparse.csr_matrix(battles > 0), directed=False)[1]


def _note(i: int, names: list[str], votes: int, battles: np.ndarray, groups: np.ndarray, min_votes: int) -> str:
    """Why this model's rating is not yet to be trusted, or ''."""
    why = []
    if votes < min_votes:
        why.append(f"too few votes ({votes} of the {min_votes} needed)")
    apart = [names[j] for j in range(len(names)) if groups[j] != groups[i]]
    if apart:
        why.append(f"no chain of votes links it to {_some(apart)}")
    unmet = [names[j] for j in range(len(names)) if j != i and battles[i, j] == 0 and groups[j] == groups[i]]
    if unmet:
        why.append(f"never met {_some(unmet)}")
    return "; ".join(why)


def _some(names: list[str], most: int = 3) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")
