"""The audio front end shared by the KWS and anomaly apps: settings, wav reading, features (torch + C twin),
int8 input quantization, clip manifests, synthetic speech and noise for built-in data sets.

Modules: config (FrontendConfig, num_frames), wav (read_wav, DataError), features (TorchFrontend,
compute_features, stack_frames), quantize (quantize_features_s8), cgen (write_frontend_c), manifest (Manifest,
ClipRecord), noise, espeak. Importing this package does not import torch; import tinycore.audio.features for it.
"""
from tinycore.audio.config import FrontendConfig, num_frames
from tinycore.audio.manifest import ClipRecord, Manifest
from tinycore.audio.quantize import quantize_features_s8
from tinycore.audio.wav import AudioNotice, DataError, read_wav

__all__ = ["FrontendConfig", "num_frames", "ClipRecord", "Manifest", "quantize_features_s8", "AudioNotice",
           "DataError", "read_wav"]
