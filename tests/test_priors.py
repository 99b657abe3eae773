import torch

from tsgl_encoder.priors import StructurePriors, canny_edges, guided_smooth, rgb_to_gray


def square_image(size: int = 64) -> torch.Tensor:
    image = -torch.ones(1, 3, size, size)
    image[..., 16:48, 16:48] = 1.0
    return image


def test_gray_uses_rgb2gray_weights():
    rgb = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    torch.testing.assert_close(rgb_to_gray(rgb), torch.tensor(0.2125).view(1, 1, 1, 1))


def test_edges_lie_on_the_boundary_of_a_square():
    edge, gray, _ = StructurePriors(with_smooth=False)(square_image(), torch.ones(1, 1, 64, 64))
    assert set(edge.unique().tolist()) <= {0.0, 1.0}
    rows, cols = edge[0, 0].nonzero(as_tuple=True)
    near_boundary = ((rows - 15.5).abs() <= 2) | ((rows - 47.5).abs() <= 2)
    near_boundary |= ((cols - 15.5).abs() <= 2) | ((cols - 47.5).abs() <= 2)
    assert len(rows) > 60 and near_boundary.all()
    assert edge[0, 0, 28:36, 28:36].sum() == 0 and edge[0, 0, :8, :8].sum() == 0  # flat areas
    torch.testing.assert_close(gray.aminmax(), (torch.tensor(0.0), torch.tensor(1.0)))


def test_hole_boundary_is_not_an_edge():
    image = torch.zeros(1, 1, 64, 64) + 0.5  # flat gray
    mask = torch.ones(1, 1, 64, 64)
    mask[..., 20:40, 20:40] = 0
    assert canny_edges(image * mask, mask).sum() == 0


def test_guided_smoothing_keeps_flat_images_and_strong_edges():
    flat = torch.full((1, 3, 32, 32), 0.3)
    mask = torch.ones(1, 1, 32, 32)
    torch.testing.assert_close(guided_smooth(flat, mask), flat)
    step = (square_image(32) + 1) / 2
    smoothed = guided_smooth(step, mask)
    assert (smoothed[..., 8, 8] < 0.1).all() and (smoothed[..., 16, 16] > 0.9).all()
    noisy = step + 0.05 * torch.randn_like(step)
    assert (guided_smooth(noisy, mask) - step).abs().mean() < (noisy - step).abs().mean()
