"""Image augmentation layers, batched on the input's device (see `base.py` for what they share)."""

from .base import BaseImageAugmentationLayer  # noqa: F401  (the base, for subclasses)
from .color import (
    AutoContrast, ContrastLimitedAdaptiveHistogramEqualization, Equalization, RandomBrightness,
    RandomColorDegeneration, RandomColorJitter, RandomContrast, RandomGaussianBlur, RandomGrayscale, RandomHue,
    RandomInvert, RandomPosterization, RandomSaturation, RandomSharpness, Solarization,
)
from .geometric import (
    RandomCrop, RandomElasticTransform, RandomFlip, RandomPerspective, RandomRotation, RandomShear,
    RandomTranslation, RandomZoom,
)
from .mixing import CutMix, MixUp, RandomErasing
from .policies import AugMix, RandAugment

__all__ = [
    "AugMix", "AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization", "CutMix", "Equalization", "MixUp",
    "RandAugment", "RandomBrightness", "RandomColorDegeneration", "RandomColorJitter", "RandomContrast",
    "RandomCrop", "RandomElasticTransform", "RandomErasing", "RandomFlip", "RandomGaussianBlur", "RandomGrayscale",
    "RandomHue", "RandomInvert", "RandomPerspective", "RandomPosterization", "RandomRotation", "RandomSaturation",
    "RandomSharpness", "RandomShear", "RandomTranslation", "RandomZoom", "Solarization",
]
