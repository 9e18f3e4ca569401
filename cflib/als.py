r"""Batched closed-form ridge solves: the two half-steps of alternating least squares.

With Theta fixed, the cost J of :mod:`cflib.objective` separates into one ridge
regression per movie. Setting :math:`\partial J / \partial x_i = 0` gives

.. math::

    \Big(\sum_{j \in R(i)} \theta_j \theta_j^T + \lambda I\Big)\, x_i
        = \sum_{j \in R(i)} y_{ij}\, \theta_j ,
    \qquad\text{i.e.}\qquad
    (\Theta_i^T \Theta_i + \lambda I)\, x_i = \Theta_i^T y_i ,

where :math:`\Theta_i` (n_i, k) holds the rows of Theta of the users who
rated movie i and :math:`y_i` (n_i,) their ratings. The user half-step is the
same with the roles of X and Theta swapped.

:class:`RowSystems` builds all these (k, k) systems at once, without a Python
loop over movies: for the left-hand sides, the (n_users, k*k) matrix of outer
products :math:`\theta_j \theta_j^T` is multiplied by the sparse 0/1 pattern
R (n_movies, n_users); for the right-hand sides, the sparse matrix of targets
times Theta. ``np.linalg.solve`` then solves the stacked (n_movies, k, k)
systems in one call. The left-hand sides come from :mod:`cflib.grams` (a
sparse product at small k, batched BLAS products over buckets of rows at larger
k).

The penalty may differ per coordinate (``penalty`` of shape (k,)) and even
per row (shape (n_rows, k)). A per-coordinate penalty is how :mod:`cflib.train`
solves for features and a bias together, by appending a column of ones to the
fixed factor (a bias is a feature whose partner is the constant 1) and giving
the bias its own regularization.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import grams

__all__ = ["RowSystems", "ridge_solve", "solve_systems", "index_dtype"]

def index_dtype(nnz: int, n_rows: int, n_cols: int):
    """The index dtype of the grouped pattern: int32 while every index and offset fits, else int64.

    ``indptr`` holds offsets up to ``nnz`` and ``indices`` columns up to
    ``n_cols - 1``; both must fit, or int32 would wrap past 2**31 entries.

    Parameters
    ----------
    nnz, n_rows, n_cols : int

    Returns
    -------
    numpy dtype class, ``np.int32`` or ``np.int64``
    """
    limit = np.iinfo(np.int32).max
    return np.int32 if max(int(nnz), int(n_rows), int(n_cols)) <= limit else np.int64


def solve_systems(A, B, *, may_be_singular: bool = True) -> np.ndarray:
    r"""Solve the stacked symmetric systems :math:`A_r w_r = b_r`: the one ridge solve of cflib.

    Used by both ALS half-steps (:meth:`RowSystems.solve`) and by fold-in
    (:func:`ridge_solve`, :mod:`cflib.recommend`).

    Parameters
    ----------
    A : ndarray of shape (n, d, d)
        Symmetric positive semi-definite matrices (Gram matrix plus penalty).
    B : ndarray of shape (n, d)
    may_be_singular : bool, default True
        False when every penalty is > 0 (then each A_r is positive definite
        and the rank check is skipped).

    Returns
    -------
    W : ndarray of shape (n, d)
        ``np.linalg.solve``; the rows whose system is singular (``lam = 0`` and
        fewer ratings than features: the smallest eigenvalue of A_r is below
        ``d * eps`` times the largest) get the minimum-norm least-squares
        solution ``pinv(A_r) b_r`` instead. Non-finite input (a diverging
        run) gives NaN rows, which the trainer's divergence check reports.
    """
    if A.shape[0] == 0:
        return np.zeros(B.shape)
    # For a positive semi-definite A_r, |A_r[a, b]| <= sqrt(A_r[a, a] A_r[b, b]): finite
    # diagonals mean finite entries (a NaN or inf in a Gram matrix reaches its diagonal),
    # and the diagonals are d values per row where the whole of A is d^2.
    if not (np.isfinite(np.einsum("nii->", A)) and np.isfinite(np.einsum("ni->", B))):
        if not (np.isfinite(np.einsum("nii->n", A)).all() and np.isfinite(B).all()):
            return np.full(B.shape, np.nan)
    if not may_be_singular:  # the usual case: no rank check, and no copies of A
        return np.linalg.solve(A, B[..., None])[..., 0]
    eig = np.linalg.eigvalsh(A)  # ascending, per row
    singular = eig[:, 0] <= A.shape[-1] * np.finfo(np.float64).eps * np.maximum(eig[:, -1], 0.0)
    if not singular.any():
        return np.linalg.solve(A, B[..., None])[..., 0]
    W = np.empty(B.shape)
    ok = ~singular
    if ok.any():
        W[ok] = np.linalg.solve(A[ok], B[ok][..., None])[..., 0]
    W[singular] = (np.linalg.pinv(A[singular], hermitian=True) @ B[singular][..., None])[..., 0]
    return W


def ridge_solve(F, t, penalty) -> np.ndarray:
    r"""One ridge regression :math:`(F^T F + \operatorname{diag}(p))\, w = F^T t` via :func:`solve_systems`.

    Parameters
    ----------
    F : ndarray of shape (n, d)
        The fixed factor's rows of the rated entries (``X[movies]`` for fold-in).
    t : ndarray of shape (n,)
        Targets.
    penalty : float or ndarray of shape (d,)

    Returns
    -------
    w : ndarray of shape (d,)
    """
    M = F.T @ F
    M[np.diag_indices_from(M)] += penalty
    return solve_systems(M[None], (F.T @ t)[None], may_be_singular=bool(np.min(penalty) <= 0))[0]


class RowSystems:
    """The sparsity pattern of one side of the rating matrix, ready for batched ridge solves.

    Parameters
    ----------
    rows, cols : ndarray of int, shape (nnz,)
        Row (the entity being solved for: movie, or user) and column (the
        fixed partner) of each rating.
    n_rows, n_cols : int

    Notes
    -----
    Entries are stored grouped by row; ``order`` is the permutation applied, so
    targets given in the caller's order are reordered with ``targets[order]``
    (done by :meth:`solve`).
    """

    def __init__(self, rows, cols, n_rows: int, n_cols: int):
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        self.n_rows = int(n_rows)
        self.n_cols = int(n_cols)
        # Group the entries by row (their order within a row does not matter). A
        # stable sort of small integers is a radix sort in numpy: O(nnz).
        small = self.n_rows <= np.iinfo(np.int16).max
        self.order = np.argsort(rows.astype(np.int16) if small else rows, kind="stable")
        rows_sorted = rows[self.order]
        itype = index_dtype(rows.size, self.n_rows, self.n_cols)
        self.indptr = np.searchsorted(rows_sorted, np.arange(self.n_rows + 1)).astype(itype)
        self.indices = cols[self.order].astype(itype)
        self.counts = np.diff(self.indptr)
        self.pattern = sp.csr_matrix(
            (np.ones(rows.size), self.indices, self.indptr), shape=(self.n_rows, self.n_cols)
        )
        self._empty = self.counts == 0
        # Reused for the right-hand sides: only its .data changes between solves.
        self._targets = sp.csr_matrix(
            (np.zeros(rows.size), self.indices, self.indptr), shape=(self.n_rows, self.n_cols)
        )

    def _grams(self, F) -> np.ndarray:
        """``A[r] = sum over the partners c of row r of f_c f_c^T``, shape (n_rows, d, d) (:mod:`cflib.grams`)."""
        return grams.gram_matrices(F, self.indptr, self.indices, self.n_rows, blocks=self._buckets(F))

    def _buckets(self, F):
        """The batched path's blocks (:func:`cflib.grams.buckets`), planned on first use; None at small d."""
        if F.shape[1] < grams.LOOP_MIN_D:
            return None
        if getattr(self, "_bucket_list", None) is None:
            self._bucket_list = grams.buckets(self.counts, self.indptr, self.indices, self.n_cols)
        return self._bucket_list

    def solve(self, F, targets, penalty, *, grouped: bool = False, return_sse: bool = False):
        r"""Solve every row's ridge system against the fixed factor F.

        For each row r with partners c in R(r):

        .. math::

            \Big(\sum_{c \in R(r)} f_c f_c^T + \operatorname{diag}(p)\Big) w_r
                = \sum_{c \in R(r)} t_{rc}\, f_c

        Parameters
        ----------
        F : ndarray of shape (n_cols, d)
            Fixed factor (Theta when solving for movies).
        targets : ndarray of shape (nnz,)
            The value each solved row should explain, in the order of the
            ``rows, cols`` given to the constructor (or, with ``grouped``, already
            permuted by ``order``).
        penalty : float or ndarray of shape (d,) or (n_rows, d)
            Ridge penalty per coordinate (``lam``, or ``lam`` then a bias
            penalty), optionally per row.

        grouped : bool, default False
            The targets are already in the grouped order (saves a gather per solve).
        return_sse : bool, default False
            Also return the sum of squared errors :math:`\sum_r \|t_r - F_r w_r\|^2`
            at the solution, from the systems already built (no pass over the
            entries): :math:`t^T t - 2 \sum_r w_r \cdot b_r + \sum_r w_r^T (A_r - P) w_r`.

        Returns
        -------
        W : ndarray of shape (n_rows, d)
            Rows with no entries get 0.
        sse : float
            Only with ``return_sse``.
        """
        F = np.asarray(F, dtype=np.float64)
        targets = np.asarray(targets, dtype=np.float64)
        d = F.shape[1]
        if d == 0:
            W = np.zeros((self.n_rows, 0))
            return (W, float(targets @ targets)) if return_sse else W
        A = self._grams(F)
        diag = np.arange(d)
        P = np.broadcast_to(np.asarray(penalty, dtype=np.float64), (self.n_rows, d))
        A[:, diag, diag] += P
        if grouped:
            self._targets.data[:] = targets
        else:
            np.take(targets, self.order, out=self._targets.data)
        B = self._targets @ F  # (n_rows, d)
        if self._empty.any():  # no data: w = 0 (also keeps lam = 0 well posed there)
            A[self._empty] = np.eye(d)
            B[self._empty] = 0.0
        # Rows without entries hold the identity: only a zero penalty can leave a row singular.
        W = solve_systems(A, B, may_be_singular=bool(P.min() <= 0))
        if not return_sse:
            return W
        # ||t - F w||^2 = t.t - 2 w.(F^T t) + w^T (F^T F) w, for every row at once;
        # rows without entries have w = 0 and add nothing.
        quad = np.einsum("nd,nde,ne->", W, A, W) - float(np.sum(P * W * W))
        return W, float(targets @ targets - 2.0 * np.vdot(W, B) + quad)

    def normal_equations(self, F, targets, *, grouped: bool = False):
        r"""The unpenalized systems of every row: Gram matrices and right-hand sides.

        .. math::

            A_r = \sum_{c \in R(r)} f_c f_c^T, \qquad b_r = \sum_{c \in R(r)} t_{rc}\, f_c

        What :meth:`solve` builds before adding the penalty; a Gibbs sampler
        (:mod:`cflib.gibbs`) scales them by the noise precision and adds the
        prior's. Rows with no entries get A = 0 and b = 0.

        Parameters
        ----------
        F : ndarray of shape (n_cols, d)
        targets : ndarray of shape (nnz,)
            In the constructor's order (or, with ``grouped``, permuted by ``order``).
        grouped : bool, default False

        Returns
        -------
        A : ndarray of shape (n_rows, d, d)
        b : ndarray of shape (n_rows, d)
        """
        F = np.asarray(F, dtype=np.float64)
        targets = np.asarray(targets, dtype=np.float64)
        if grouped:
            self._targets.data[:] = targets
        else:
            np.take(targets, self.order, out=self._targets.data)
        return self._grams(F), self._targets @ F

    def _weighted_grams(self, F, weights) -> np.ndarray:
        """``A[r] = sum over the partners c of row r of w_rc f_c f_c^T``, shape (n_rows, d, d).

        ``weights`` (nnz,) are in the grouped order (permuted by ``order``).
        """
        return grams.gram_matrices(F, self.indptr, self.indices, self.n_rows, weights=weights,
                                   blocks=self._buckets(F))

    def solve_weighted(self, F, weights, targets, penalty, *, base=None):
        r"""Solve every row's *weighted* ridge system, with an optional shared Gram term.

        .. math::

            \Big(G + \sum_{c \in R(r)} w_{rc} f_c f_c^T + \operatorname{diag}(p)\Big) w_r
                = \sum_{c \in R(r)} t_{rc}\, f_c

        This is the implicit-feedback ALS step (Hu, Koren and Volinsky 2008) with
        :math:`G = F^T F` over *all* columns, :math:`w_{rc} = c_{rc} - 1` and
        :math:`t_{rc} = c_{rc} p_{rc}`: the work grows with the number of
        entries, never with n_rows * n_cols.

        Parameters
        ----------
        F : ndarray of shape (n_cols, d)
        weights, targets : ndarray of shape (nnz,)
            Per entry, in the grouped order (permuted by ``order``).
        penalty : float or ndarray of shape (d,)
        base : ndarray of shape (d, d), optional
            The Gram term G shared by every row (``F.T @ F``); default 0.

        Returns
        -------
        W : ndarray of shape (n_rows, d)
        """
        F = np.asarray(F, dtype=np.float64)
        d = F.shape[1]
        A = self._weighted_grams(F, np.asarray(weights, dtype=np.float64))
        if base is not None:
            A += base
        diag = np.arange(d)
        A[:, diag, diag] += np.broadcast_to(np.asarray(penalty, dtype=np.float64), (d,))
        self._targets.data[:] = targets
        B = self._targets @ F
        return solve_systems(A, B, may_be_singular=bool(np.min(penalty) <= 0))

    def _cg_buffers(self, d, dtype):
        """Three (nnz, d), (nnz, d), (nnz,) work arrays kept between calls of :meth:`solve_weighted_cg`.

        Kept because a fresh array of tens of megabytes per product costs page faults
        (kernel time) every time: about 40 % of an implicit-ALS sweep at ml-100k size.
        """
        key = (d, np.dtype(dtype))
        if getattr(self, "_cg_key", None) != key:
            nnz = self.indices.size
            self._entry_rows = np.repeat(np.arange(self.n_rows, dtype=self.indices.dtype), self.counts)
            self._cg_work = (np.empty((nnz, d), dtype), np.empty((nnz, d), dtype), np.empty(nnz, dtype))
            self._cg_key = key
        return self._cg_work

    def solve_weighted_cg(self, F, weights, targets, penalty, W0, *, base, steps: int = 3, dtype=np.float64):
        r"""A few conjugate-gradient steps on every row's weighted system, from ``W0``.

        The same systems as :meth:`solve_weighted`, never built: CG only needs
        the products :math:`A_r v = (G + \operatorname{diag}(p)) v + \sum_c w_{rc}
        (f_c \cdot v) f_c`, which cost O(nnz d) for all rows at once (one gather,
        one row-wise dot, one sparse product), against O(nnz d^2 + n_rows d^3)
        to build and solve. Started from the previous ALS iterate, ``steps=3``
        is close to the exact solve (Takacs, Pilaszy and Tikk 2011).

        Parameters
        ----------
        F : ndarray of shape (n_cols, d)
        weights, targets : ndarray of shape (nnz,), in the grouped order
        penalty : float
        W0 : ndarray of shape (n_rows, d)   the starting point
        base : ndarray of shape (d, d)   the shared Gram term G
        steps : int
        dtype : numpy float type, default float64
            Precision of the products (float32 halves the memory traffic of
            the gathers, which dominate; the result is returned as float64).

        Returns
        -------
        W : ndarray of float64, shape (n_rows, d)
        """
        F = np.asarray(F, dtype=dtype)
        weights = np.asarray(weights, dtype=dtype)
        d = F.shape[1]
        G = (base + float(penalty) * np.eye(d)).astype(dtype)
        Fe, rep, dots = self._cg_buffers(d, dtype)
        np.take(F, self.indices, axis=0, out=Fe, mode="clip")  # (nnz, d): the partner of every entry
        weighted = sp.csr_matrix((np.zeros(self.indices.size, dtype=dtype), self.indices, self.indptr),
                                 shape=(self.n_rows, self.n_cols))

        def apply(V):
            # entries are grouped by row: row r of V repeated counts[r] times is a sequential gather
            np.take(V, self._entry_rows, axis=0, out=rep, mode="clip")
            np.einsum("nd,nd->n", Fe, rep, out=dots)
            np.multiply(weights, dots, out=weighted.data)
            return V @ G + weighted @ F

        B = sp.csr_matrix((np.asarray(targets, dtype=dtype), self.indices, self.indptr),
                          shape=(self.n_rows, self.n_cols)) @ F
        W = np.array(W0, dtype=dtype)
        r = B - apply(W)
        p = r.copy()
        rs = np.einsum("nd,nd->n", r, r)
        for _ in range(steps):
            Ap = apply(p)
            pAp = np.einsum("nd,nd->n", p, Ap)
            a = np.divide(rs, pAp, out=np.zeros_like(rs), where=pAp > 0)
            W += a[:, None] * p
            r -= a[:, None] * Ap
            rs_new = np.einsum("nd,nd->n", r, r)
            beta = np.divide(rs_new, rs, out=np.zeros_like(rs), where=rs > 0)
            p = r + beta[:, None] * p
            rs = rs_new
        return W.astype(np.float64)
