"""P-IDS and U-IDS: the paired / unpaired Inception discriminative scores (Zhao et al., CoModGAN, ICLR 2021).

As CoModGAN and MAT compute them: a linear SVM (``sklearn.svm.LinearSVC(dual=False)``) is fitted to
separate the Inception features of real images (label 1) from those of the inpainted ones (label 0).
**U-IDS** is its misclassification rate on those same features, ``1 - accuracy``; **P-IDS** is the
fraction of pairs (real image, its inpainted version) in which the SVM scores the inpainted one as
more real, ``mean(f(fake_i) > f(real_i))``. Both are 0 when real and inpainted are told apart
perfectly; U-IDS tends to 0.5 and P-IDS to about 0.5 when they are indistinguishable.
"""

from __future__ import annotations

import numpy as np

from ..extras import require


def inception_discriminative_scores(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    """``{"p_ids": ..., "u_ids": ...}`` of paired feature sets ``real (N, D)`` and ``fake (N, D)`` (row i of
    each from the same image); needs scikit-learn."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if real.ndim != 2 or real.shape != fake.shape:
        raise ValueError(f"real and fake must be paired (N, D) feature sets, got {real.shape} and {fake.shape}")
    if real.shape[0] < 2:
        raise ValueError(f"P-IDS / U-IDS need at least 2 image pairs, got {real.shape[0]}")
    LinearSVC = require("sklearn.svm", "P-IDS / U-IDS").LinearSVC
    inputs = np.concatenate([real, fake])
    targets = np.concatenate([np.ones(len(real)), np.zeros(len(fake))])
    svm = LinearSVC(dual=False).fit(inputs, targets)
    u_ids = 1.0 - svm.score(inputs, targets)
    p_ids = np.mean(svm.decision_function(fake) > svm.decision_function(real))
    return {"p_ids": float(p_ids), "u_ids": float(u_ids)}
