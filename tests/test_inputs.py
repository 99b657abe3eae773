"""Bad input gets a clear error naming the argument, the expected and the received value."""

import pytest
import torch


def call(encoder, image=None, mask=None, **priors):
    image = torch.zeros(1, 3, 64, 64) if image is None else image
    mask = torch.ones(1, 1, 64, 64) if mask is None else mask
    return encoder(image, mask, **priors)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"image": torch.zeros(3, 64, 64)}, ValueError, r"image must have shape \(B, 3, H, W\), got \(3, 64, 64\)"),
        ({"image": torch.zeros(1, 4, 64, 64)}, ValueError, r"image must have shape \(B, 3, H, W\), got \(1, 4"),
        ({"image": torch.zeros(1, 3, 64, 64, dtype=torch.uint8)}, TypeError,
         "image must be a floating-point"),
        ({"image": [[0.0]]}, TypeError, "image must be a torch.Tensor, got list"),
        ({"image": torch.zeros(1, 3, 100, 64), "mask": torch.ones(1, 1, 100, 64)}, ValueError,
         r"multiples of size_divisor=64, got 100x64 \(e.g. pad or resize to 128x64\)"),
        ({"mask": torch.ones(2, 1, 64, 64)}, ValueError,
         r"mask must have shape \(1, 1, 64, 64\), got \(2, 1, 64, 64\)"),
        ({"mask": torch.ones(1, 3, 64, 64)}, ValueError, r"mask must have shape \(1, 1, 64, 64\), got \(1, 3"),
        ({"mask": torch.full((1, 1, 64, 64), 0.5)}, ValueError, "mask must be binary"),
        ({"mask": torch.ones(1, 1, 64, 64, dtype=torch.long)}, TypeError, "mask must be bool or floating point"),
        ({"mask": "all"}, TypeError, "mask must be a torch.Tensor, got str"),
        ({"image": torch.full((1, 3, 64, 64), float("nan"))}, ValueError, "image contains NaN or inf"),
        ({"edge": torch.zeros(1, 1, 32, 32)}, ValueError,
         r"edge must have shape \(1, 1, 64, 64\), got \(1, 1, 32, 32\)"),
        ({"gray": torch.zeros(1, 3, 64, 64)}, ValueError, r"gray must have shape \(1, 1, 64, 64\)"),
        ({"smooth": torch.zeros(1, 1, 64, 64)}, ValueError, r"smooth must have shape \(1, 3, 64, 64\)"),
        ({"edge": torch.full((1, 1, 64, 64), float("inf"))}, ValueError, "edge contains NaN or inf"),
    ],
)
def test_bad_inputs_raise_clear_errors(tiny, kwargs, error, message):
    with pytest.raises(error, match=message):
        call(tiny, **kwargs)


def test_non_square_multiple_of_divisor_is_accepted(tiny):
    with torch.no_grad():
        out = call(tiny, image=torch.zeros(2, 3, 64, 192), mask=torch.ones(2, 1, 64, 192))
    assert out[-1].shape == (2, 128, 1, 3)
