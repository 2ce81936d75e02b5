"""The audio front end shared by the KWS and anomaly apps: settings, wav reading, features (torch + C twin),
clip manifests, synthetic speech and noise for built-in data sets. Features become int8 model inputs through the
one float quantizer, tinycore.runtime.quantize_float_s8 (C: tc_frontend_quantize_s8 calls its twin).

Modules: config (FrontendConfig, num_frames), wav (read_wav, DataError), features (TorchFrontend,
compute_features, stack_frames), cgen (write_frontend_c), manifest (Manifest,
ClipRecord), noise, espeak. Importing this package does not import torch; import tinycore.audio.features for it.
"""
from tinycore.audio.config import FrontendConfig, num_frames
from tinycore.audio.manifest import ClipRecord, Manifest
from tinycore.audio.wav import AudioNotice, DataError, read_wav

__all__ = ["FrontendConfig", "num_frames", "ClipRecord", "Manifest", "AudioNotice",
           "DataError", "read_wav"]
