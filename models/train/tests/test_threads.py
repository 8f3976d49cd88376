import ctypes

import pytest

from models.train import train


def test_blas_threads_follow_the_limit():
    if not train.limit_blas_threads(1):
        pytest.skip("no OpenBLAS in this process (torch uses another BLAS)")
    blas = ctypes.CDLL("libopenblas.so.0")
    assert blas.openblas_get_num_threads() == 1
    train.limit_blas_threads(2)
    assert blas.openblas_get_num_threads() == 2
    train.limit_blas_threads(1)
