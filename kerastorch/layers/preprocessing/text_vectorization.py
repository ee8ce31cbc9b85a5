"""TextVectorization: standardize, split, n-grams, then a StringLookup, all on the host in plain Python
(no TensorFlow); the token indices or encodings come out as torch tensors."""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np
import torch

from .category_encoding import check_output_mode, encode_categorical
from .host import HostLayer, batches, host_array
from .lookup import StringLookup

# TensorFlow's `strings.lower` (no encoding given) and `strings.split` work on ASCII only.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_ASCII_SPACE = re.compile(r"[ \t\n\v\f\r]+")


class TextVectorization(HostLayer):
    """Turns strings into token indices (or one-hot/multi-hot/count/TF-IDF vectors).

    Args:
        max_tokens: the largest vocabulary `adapt()` learns (padding and OOV indices included).
        standardize: "lower_and_strip_punctuation" (default), "lower", "strip_punctuation", None, or a
            callable taking and returning a numpy array of strings.
        split: "whitespace" (default), "character", None, or a callable from an array of strings to
            lists of tokens.
        ngrams: None, an int n (all 1..n-grams) or a tuple of widths.
        output_mode: "int" (default), "multi_hot", "count", "tf_idf" or "one_hot".
        output_sequence_length: in "int" mode, pad or cut every row to this length.
        pad_to_max_tokens: make encoded outputs `max_tokens` wide.
        vocabulary, idf_weights: a fixed vocabulary (and IDF weights for "tf_idf"); else call `adapt()`.
        sparse, ragged: Keras's TensorFlow-only outputs; `True` raises NotImplementedError.
        encoding: the text encoding of byte-string inputs.
        vocabulary_size: recorded in configs by Keras; a learned vocabulary Keras keeps in a `.keras`
            archive's assets cannot be read here (NotImplementedError).
    """

    def __init__(self, max_tokens: int | None = None, standardize: str | Callable | None = "lower_and_strip_punctuation",
                 split: str | Callable | None = "whitespace", ngrams: int | tuple | None = None,
                 output_mode: str = "int", output_sequence_length: int | None = None, pad_to_max_tokens: bool = False,
                 vocabulary: Any = None, idf_weights: Any = None, sparse: bool = False, ragged: bool = False,
                 encoding: str = "utf-8", name: str | None = None, vocabulary_size: int | None = None, **kwargs: Any):
        if sparse or ragged:
            raise NotImplementedError(
                f"TextVectorization({'sparse' if sparse else 'ragged'}=True) returns a TensorFlow "
                f"{'SparseTensor' if sparse else 'RaggedTensor'} in Keras, which has no torch counterpart; use "
                "output_sequence_length (or the default padding to the longest row) instead."
            )
        if not (standardize is None or callable(standardize)
                or standardize in ("lower_and_strip_punctuation", "lower", "strip_punctuation")):
            raise ValueError(
                "TextVectorization expected `standardize` to be 'lower_and_strip_punctuation', 'lower', "
                f"'strip_punctuation', None or a callable, received {standardize!r}."
            )
        if not (split is None or callable(split) or split in ("whitespace", "character")):
            raise ValueError(
                f"TextVectorization expected `split` to be 'whitespace', 'character', None or a callable, received {split!r}."
            )
        output_mode = check_output_mode("TextVectorization", output_mode,
                                        ("int", "one_hot", "multi_hot", "count", "tf_idf"))
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (ngrams is None or isinstance(ngrams, int)
                or (isinstance(ngrams, tuple) and all(isinstance(n, int) for n in ngrams))):
            raise ValueError(f"TextVectorization expected `ngrams` to be None, an int or a tuple of ints, received {ngrams!r}.")
        if output_mode == "int" and not (output_sequence_length is None or isinstance(output_sequence_length, int)):
            raise ValueError(
                f"TextVectorization expected `output_sequence_length` to be None or an int, received {output_sequence_length!r}."
            )
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(f"TextVectorization takes `output_sequence_length` only with output_mode='int', not {output_mode!r}.")
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        super().__init__(name=name, **kwargs)
        self.standardize = standardize
        self.split = split
        self.ngrams = ngrams
        self._widths = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.encoding = encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights, pad_to_max_tokens=pad_to_max_tokens,
            mask_token="", output_mode=output_mode, encoding=encoding, has_input_vocabulary=has_input_vocabulary,
            vocabulary_size=vocabulary_size,
        )
        self.built = True

    # ---------------------------------------------------------------------------- vocabulary

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary from `data`: strings as an array/list (one document each), or an
        iterable of batches (`steps` limits how many)."""
        lookup = self._lookup_layer
        if lookup._has_input_vocabulary:
            raise ValueError(f"Layer {self.name!r} (TextVectorization) has a fixed `vocabulary`; create it without "
                             "one to adapt it.")
        lookup.reset_state()
        if isinstance(data, (list, tuple, np.ndarray, torch.Tensor)):
            array, _ = host_array(data, self.encoding)
            self.update_state(array.reshape(-1, 1) if array.ndim == 1 else array)
        else:
            for i, batch in enumerate(batches(data)):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch)
        lookup.finalize_state()

    def update_state(self, data: Any) -> None:
        lookup = self._lookup_layer
        for document in self._tokenize(data):
            lookup._counts.update(document)
            if lookup.output_mode == "tf_idf":
                lookup._document_counts.update(set(document))
                lookup._documents += 1

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    def keras_assets(self) -> dict[str, bytes]:
        return self._lookup_layer.keras_assets()

    def load_keras_assets(self, files: dict[str, bytes]) -> None:
        self._lookup_layer.load_keras_assets(files)

    # ---------------------------------------------------------------------------- preprocess

    def _standardized(self, array: np.ndarray) -> np.ndarray:
        if callable(self.standardize):
            return np.asarray(self.standardize(array.astype(str)), dtype=object)
        lower = self.standardize in ("lower", "lower_and_strip_punctuation")
        strip = self.standardize in ("strip_punctuation", "lower_and_strip_punctuation")

        def clean(text: str) -> str:
            if lower:
                text = text.translate(_ASCII_LOWER)
            return _PUNCTUATION.sub("", text) if strip else text

        return np.vectorize(clean, otypes=[object])(array) if array.size else array

    def _tokenize(self, inputs: Any) -> list[list[str]]:
        """Each row's tokens (after standardize, split and n-grams); without `split`, the rows' strings."""
        array, _ = host_array(inputs, self.encoding)
        array = self._standardized(array)
        if self.split is None:
            rows = [list(row) for row in (array.reshape(-1, 1) if array.ndim <= 1 else array.reshape(len(array), -1))]
        else:
            if array.ndim > 1:
                if array.shape[-1] != 1:
                    raise ValueError(
                        f"Layer {self.name!r} (TextVectorization) splits strings from inputs of shape (batch,) or "
                        f"(batch, 1), received shape {array.shape}."
                    )
                array = array.squeeze(-1)
            texts = array.reshape(-1).tolist()
            if self.split == "whitespace":
                rows = [[t for t in _ASCII_SPACE.split(text) if t] for text in texts]
            elif self.split == "character":
                rows = [list(text) for text in texts]
            else:
                rows = [[str(t) for t in row] for row in self.split(np.asarray(texts, dtype=str))]
        if self._widths is not None:
            rows = [[" ".join(row[i:i + n]) for n in self._widths for i in range(len(row) - n + 1)] for row in rows]
        return rows

    # ------------------------------------------------------------------------------------- call

    def forward(self, inputs: Any) -> torch.Tensor:
        lookup = self._lookup_layer
        device = inputs.device if isinstance(inputs, torch.Tensor) else torch.device("cpu")
        lookup._check_ready()
        if self.split is None and self._widths is None:  # rows keep the input's shape
            array, _ = host_array(inputs, self.encoding)
            indices = torch.as_tensor(lookup._lookup_host(self._standardized(array)), device=device)
            if self.output_mode == "int" and self.output_sequence_length is not None:
                indices = _fit_length(indices[..., :self.output_sequence_length], self.output_sequence_length)
            return lookup._encode(indices) if self.output_mode != "int" else indices
        rows = self._tokenize(inputs)
        width = self.output_sequence_length if self.output_mode == "int" else None
        if width is None:
            width = max((len(r) for r in rows), default=0)
        pad = 0 if self.output_mode == "int" else -1  # -1 encodes to nothing
        matrix = np.full((len(rows), width), pad, dtype=np.int64)
        for i, row in enumerate(rows):
            ids = lookup._lookup_host(np.asarray(row[:width], dtype=object)) if row else []
            matrix[i, :len(ids)] = ids
        indices = torch.as_tensor(matrix, device=device)
        if self.output_mode == "int":
            return indices
        if not rows:
            return lookup._encode(indices)
        depth = lookup.max_tokens if lookup.pad_to_max_tokens else lookup._vocab_size
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        if mode == "one_hot":
            raise ValueError(
                f"Layer {self.name!r} (TextVectorization) with output_mode='one_hot' encodes one token per row; set "
                "split=None (Keras gives one-hot vectors only for unsplit inputs)."
            )
        encoded = encode_categorical(indices, mode, depth, torch.int64)
        if self.output_mode == "tf_idf":
            return encoded.to(torch.float32) * lookup.idf_weights.to(device)
        return encoded  # int64, as Keras's lookup gives

    # ----------------------------------------------------------------------------------- config

    def get_config(self) -> dict[str, Any]:
        lookup_config = self._lookup_layer.get_config()
        return {
            "name": self.name, "trainable": self.trainable, "dtype": self.dtype,
            "max_tokens": self._lookup_layer.max_tokens, "standardize": self.standardize, "split": self.split,
            "ngrams": self.ngrams, "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": self._lookup_layer.pad_to_max_tokens, "sparse": False, "ragged": False,
            "vocabulary": lookup_config["vocabulary"], "idf_weights": lookup_config["idf_weights"],
            "encoding": self.encoding, "vocabulary_size": self.vocabulary_size(),
        }

    @classmethod
    def from_config(cls, config_dict: dict[str, Any]) -> "TextVectorization":
        """Rebuild from a config; a custom `standardize`/`split` comes back through the function registry."""
        from ...saving.serialization import current_scope, function_from

        config_dict = dict(config_dict)
        custom_objects, safe_mode = current_scope()
        for key in ("standardize", "split"):
            if isinstance(config_dict.get(key), dict):
                config_dict[key] = function_from(config_dict[key], custom_objects, safe_mode)
        return cls(**config_dict)


def _fit_length(indices: torch.Tensor, length: int) -> torch.Tensor:
    """Pad the last axis with zeros up to `length`."""
    missing = length - indices.shape[-1]
    if missing <= 0:
        return indices
    return torch.nn.functional.pad(indices, (0, missing))
