"""segmentation_models_pytorch host (the ``[smp]`` extra): TSGL's presets in smp's encoder registry and a
U-Net inpainting generator. ``import adapters.smp`` registers ``tsgl_base``, ``tsgl_small`` and ``tsgl_tiny``::

    import segmentation_models_pytorch as smp
    import adapters.smp
    model = smp.Unet("tsgl_tiny", encoder_weights=None, in_channels=4, classes=3)  # x = cat(image, mask)
"""

try:
    import segmentation_models_pytorch  # noqa: F401
except ImportError as error:  # said once, here, instead of deep inside an import
    raise ImportError(f'adapters.smp needs segmentation_models_pytorch ({error}): pip install "tsgl-encoder[smp]"'
                      ) from None

from .encoder import DEPTHS, IN_CHANNELS, SMP_PRESETS, LocalWeightsOnly, TSGLSmpEncoder, register_encoders
from .unet import DECODER_CHANNELS, create_generator, is_tsgl, parameters_by_part, replace_encoder

register_encoders()

__all__ = [
    "DECODER_CHANNELS",
    "DEPTHS",
    "IN_CHANNELS",
    "SMP_PRESETS",
    "LocalWeightsOnly",
    "TSGLSmpEncoder",
    "create_generator",
    "is_tsgl",
    "parameters_by_part",
    "register_encoders",
    "replace_encoder",
]
