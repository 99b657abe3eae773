"""The benchmark harness, apart from the paper's modules: what it takes to reproduce "substituting the encoders".

The data path, top to bottom: :mod:`.data` (image folders, the embedded photos) -> :mod:`.masks`
(LaMa / MAT / ratio-bin hole generators) -> a host (``adapters.*.host``, built on
:mod:`.training`) -> :mod:`.losses` (and :mod:`.resnet_pl`) -> :mod:`.metrics` -> tables, and
:mod:`.viz` for grids and curves. Nothing here is needed to run the encoder itself.
"""
