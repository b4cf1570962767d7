"""Applications built on the engine: ``TabularGAN`` (fit/sample synthetic tables in a few lines,
tabular.py) and ``ganforge augment`` (class-balanced synthetic training images, synthdata.py)."""
