r"""The Gram matrices of ALS's row systems: every row's :math:`A_r = \sum_{c \in R(r)} w_{rc} f_c f_c^T` at once.

Both half-steps of ALS (:mod:`cflib.als`) and the weighted step of implicit ALS
need, for every row r (a movie, or a user) and the fixed factor F (n_cols, d),
the (d, d) matrix of outer products of the rows of F it is paired with, each
weighted by :math:`w_{rc}` (1 for explicit ALS). Two ways, chosen by d:

* small d: the sparse pattern (n_rows, n_cols), holding the weights, times the
  (n_cols, d(d+1)/2) upper triangles of all outer products :math:`f_c f_c^T`,
  one sparse product and no Python loop: nnz * d^2 / 2 scalar multiply-adds;
* larger d (``LOOP_MIN_D`` on): rows with similar numbers of partners are grouped
  in buckets, each row's partners gathered into a zero-padded (width, d) block
  :math:`G_r`, and ``np.matmul`` forms all :math:`G_r^T \operatorname{diag}(w_r) G_r`
  of a bucket in one call (BLAS per row, in a loop in C, not in Python).

:func:`buckets` plans the blocks once per pattern; :func:`gram_matrices` builds
the matrices for a given F.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["gram_matrices", "buckets", "LOOP_MIN_D", "GATHER_ENTRIES", "BUCKET_GROWTH"]

#: From this many columns of F on, the Gram matrices are built by batched BLAS
#: products over buckets of rows instead of by one sparse product. Both sides of
#: ml-100k u1, one thread (benchmarks/bench_kernels.py, benchmarks/README.md): the
#: sparse product costs 2.8 ms at d=11 and 35.6 ms at d=31, the buckets 3.4 and
#: 15.9 ms; they cross between d=11 and d=14.
LOOP_MIN_D = 14
#: Padded entries gathered at once by the batched path (a (GATHER_ENTRIES, d) temporary).
GATHER_ENTRIES = 1 << 16
#: Width ratio of consecutive buckets: a row is padded to at most this many times
#: its number of partners (zero rows, which add nothing to G^T G).
BUCKET_GROWTH = 1.25


def buckets(counts, indptr, indices, n_cols: int) -> list:
    """Rows grouped by number of partners: a list of ``(rows, idx, pos)`` blocks.

    Each block holds rows whose counts lie within a factor ``BUCKET_GROWTH`` of
    each other and at most ``GATHER_ENTRIES`` padded entries (a single wider row
    gets a block of its own). Rows without partners are in no block.

    Parameters
    ----------
    counts : ndarray of int, shape (n_rows,)
        Partners per row.
    indptr : ndarray of int, shape (n_rows + 1,)
    indices : ndarray of int, shape (nnz,)
        The partners (columns), grouped by row as in CSR.
    n_cols : int

    Returns
    -------
    list of tuple
        ``rows`` (m,) the rows of the block; ``idx`` (m, width) each row's partners,
        padded with ``n_cols`` (the index of a zero row appended to F); ``pos`` (m, width)
        each slot's entry (position in ``indices``), -1 for padding.
    """
    by_count = np.argsort(counts, kind="stable")
    sorted_counts = counts[by_count]
    blocks, start, n = [], int(np.searchsorted(sorted_counts, 1)), counts.size
    while start < n:
        top = max(int(sorted_counts[start] * BUCKET_GROWTH), int(sorted_counts[start]))
        stop = int(np.searchsorted(sorted_counts, top, side="right"))
        width = int(sorted_counts[stop - 1])
        stop = min(stop, start + max(1, GATHER_ENTRIES // width))
        rows = by_count[start:stop]
        j = np.arange(width)
        first = indptr[rows].astype(np.int64)[:, None]
        inside = j < counts[rows][:, None]
        idx = np.where(inside, indices[np.minimum(first + j, indices.size - 1)], n_cols)
        blocks.append((rows, idx, np.where(inside, first + j, -1)))
        start = stop
    return blocks


def gram_matrices(F, indptr, indices, n_rows: int, *, weights=None, blocks=None) -> np.ndarray:
    r"""Every row's :math:`A_r = \sum_{c \in R(r)} w_{rc} f_c f_c^T`, shape (n_rows, d, d).

    Parameters
    ----------
    F : ndarray of shape (n_cols, d)
        The fixed factor.
    indptr, indices : ndarray of int
        The pattern grouped by row (CSR).
    n_rows : int
    weights : ndarray of shape (nnz,), optional
        :math:`w_{rc}` per entry, in the order of ``indices``; default 1.
    blocks : list, optional
        :func:`buckets` of this pattern (planned once by the caller); made here when
        needed and not given.

    Returns
    -------
    ndarray of shape (n_rows, d, d)
        Symmetric; zero for rows without partners.
    """
    F = np.asarray(F, dtype=np.float64)
    n_cols, d = F.shape
    if d < LOOP_MIN_D:
        A = np.empty((n_rows, d, d))
        data = np.ones(indices.size) if weights is None else weights
        pattern = sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))
        iu, ju = np.triu_indices(d)
        upper = pattern @ (F[:, iu] * F[:, ju])  # (n_rows, d(d+1)/2)
        A[:, iu, ju] = upper
        A[:, ju, iu] = upper
        return A
    if blocks is None:
        blocks = buckets(np.diff(indptr), indptr, indices, n_cols)
    A = np.zeros((n_rows, d, d))
    Fz = np.zeros((n_cols + 1, d))
    Fz[:-1] = F
    if weights is not None:
        wz = np.append(np.asarray(weights, dtype=np.float64), 0.0)  # padding (pos -1) reads the 0
    for rows, idx, pos in blocks:
        G = np.take(Fz, idx, axis=0, mode="clip")  # (m, width, d); indices valid by construction
        left = G if weights is None else G * wz[pos][..., None]
        A[rows] = np.matmul(left.transpose(0, 2, 1), G)
    return A
