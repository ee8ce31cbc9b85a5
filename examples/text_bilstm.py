"""A bidirectional LSTM text classifier (the classic Keras IMDB example) on generated, padded token data.

Each "review" is 5-40 token ids, right-padded with 0 to 40; it is positive when it holds more tokens
from the "positive" half of the vocabulary than from the "negative" half. `Embedding(mask_zero=True)`
masks the padding, so the LSTMs run on torch's fused kernel over packed sequences and never read a
pad. Prints the summary, trains, and checks the validation accuracy (at least 0.9 after 3 epochs).

    python examples/text_bilstm.py [--epochs 3] [--samples 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import kerastorch as kt
from kerastorch import layers

VOCABULARY, MAX_LENGTH = 100, 40


def generated_reviews(samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded token ids and 0/1 labels: more "positive" (1-49) than "negative" (50-99) tokens."""
    rng = np.random.default_rng(seed)
    tokens = np.zeros((samples, MAX_LENGTH), dtype="int64")
    labels = np.zeros(samples, dtype="float32")
    for row in range(samples):
        length = rng.integers(5, MAX_LENGTH + 1)
        words = rng.integers(1, VOCABULARY, size=length)
        positive, negative = int((words < 50).sum()), int((words >= 50).sum())
        if positive == negative:  # no ties: flip one word
            words[0] = 1 if words[0] >= 50 else 99
            positive, negative = int((words < 50).sum()), int((words >= 50).sum())
        tokens[row, :length] = words
        labels[row] = float(positive > negative)
    return tokens, labels


def build_model() -> kt.Model:
    inputs = kt.Input((MAX_LENGTH,), dtype="int64")
    x = layers.Embedding(VOCABULARY, 32, mask_zero=True)(inputs)
    x = layers.Bidirectional(layers.LSTM(32))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return kt.Model(inputs, outputs, name="text_bilstm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)  # on a busy machine one thread beats contended ones
    kt.utils.set_random_seed(0)
    x_train, y_train = generated_reviews(args.samples, seed=0)
    x_val, y_val = generated_reviews(1000, seed=1)
    model = build_model()
    model.summary()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, validation_data=(x_val, y_val), verbose=2)
    loss, accuracy = model.evaluate(x_val, y_val, verbose=0)
    print(f"validation accuracy {accuracy:.3f} (loss {loss:.3f}) after {args.epochs} epochs, "
          f"{time.perf_counter() - start:.1f} s")
    if args.epochs >= 3 and accuracy < 0.9:
        raise SystemExit(f"expected a validation accuracy of at least 0.9, got {accuracy:.3f}")


if __name__ == "__main__":
    main()
