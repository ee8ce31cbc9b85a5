"""Feature extraction with the Functional API, as in the Keras guide, on plain PyTorch modules.

A built Sequential model behaves like a functional one: every layer has a symbolic `input` and
`output`, so `keras.Model(inputs, outputs)` can cut a feature extractor out of it. The extractor
shares the original model's parameters (the very same tensors). Run: `python examples/feature_extraction.py`.
"""

import torch

import kerastorch as keras
from kerastorch import layers, ops

# --- Recipe 1: every layer's output -------------------------------------------------------------
initial_model = keras.Sequential(
    [
        keras.Input(shape=(250, 250, 3)),
        layers.Conv2D(32, 5, strides=2, activation="relu"),
        layers.Conv2D(32, 3, activation="relu"),
        layers.Conv2D(32, 3, activation="relu"),
    ]
)
feature_extractor = keras.Model(
    inputs=initial_model.inputs,
    outputs=[layer.output for layer in initial_model.layers],
)
x = ops.ones((1, 250, 250, 3))
features = feature_extractor(x)
print("Recipe 1 feature shapes:", [tuple(f.shape) for f in features])
print("Last feature equals the model's output:", torch.equal(features[-1], initial_model(x)))
feature_extractor.summary()

# --- Recipe 2: one intermediate layer's output --------------------------------------------------
initial_model = keras.Sequential(
    [
        keras.Input(shape=(250, 250, 3)),
        layers.Conv2D(32, 5, strides=2, activation="relu"),
        layers.Conv2D(32, 3, activation="relu", name="my_intermediate_layer"),
        layers.Conv2D(32, 3, activation="relu"),
    ]
)
feature_extractor = keras.Model(
    inputs=initial_model.inputs,
    outputs=initial_model.get_layer(name="my_intermediate_layer").output,
)
print("Recipe 2 feature shape:", tuple(feature_extractor(x).shape))

# --- Two inputs, two outputs, one shared layer --------------------------------------------------
title = keras.Input(shape=(16,), name="title")
body = keras.Input(shape=(16,), name="body")
shared = layers.Dense(8, activation="relu", name="shared_encoder")  # one set of weights, two calls
title_code, body_code = shared(title), shared(body)
merged = layers.Concatenate(name="merged")([title_code, body_code])
priority = layers.Dense(1, name="priority")(merged)
department = layers.Dense(4, activation="softmax", name="department")(merged)
model = keras.Model(inputs=[title, body], outputs={"priority": priority, "department": department})
model.summary()

outputs = model({"title": torch.randn(3, 16), "body": torch.randn(3, 16)})
print({name: tuple(value.shape) for name, value in outputs.items()})
print("A plain nn.Module:", isinstance(model, torch.nn.Module), "| parameters:",
      sum(p.numel() for p in model.parameters()))
