"""The warm zygote never preloads a package a notebook configures before importing it.

Keras fixes its backend when it is imported (and importing TensorFlow imports Keras): a
zygote that preloaded either would hand every kernel Keras on the TensorFlow backend,
whatever ``KERAS_BACKEND`` the notebook sets before its ``import keras``."""

from __future__ import annotations

import json
import subprocess
import sys

from autograder.run.zygote import preloadable

PROBE = (
    "import json, sys\n"
    "from autograder.run.zygote import preload\n"
    "loaded = preload(['json', 'keras', 'keras.layers', 'tensorflow', 'tensorflow.lite'])\n"
    "print(json.dumps({'loaded': loaded, 'keras': 'keras' in sys.modules}))\n"
)


def test_keras_and_tensorflow_are_left_to_the_kernel():
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"loaded": ["json"], "keras": False}


def test_other_packages_are_preloadable():
    assert preloadable("torch") and preloadable("sklearn.datasets") and preloadable("kerasx")
    assert (
        not preloadable("keras")
        and not preloadable("keras.src.layers")
        and not preloadable("tensorflow.lite")
    )
