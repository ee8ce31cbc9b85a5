"""StringLookup and IntegerLookup: map tokens to vocabulary indices (or back, with `invert`), from a
given vocabulary or one learned by `adapt()`. Strings are looked up on the host in a dict; integers on
the input's device with a sorted table. No TensorFlow is involved, yet the indices, OOV buckets and
TF-IDF weights are Keras's."""

from __future__ import annotations

import collections
import math
from typing import Any, Iterable

import numpy as np
import torch

from .category_encoding import check_output_mode, encode_categorical, refuse_sparse
from .fingerprint import fingerprint64, siphash24
from .hashing import hash_buckets, salt_pair
from .host import HostLayer, batches, host_array

_INT64_MAX = np.iinfo(np.int64).max


class IndexLookup(HostLayer):
    """The machinery shared by StringLookup and IntegerLookup (Keras's IndexLookup)."""

    _text = True
    _frozen = False  # set by the first call: then an encoded output's width may not change

    def __init__(self, max_tokens: int | None, num_oov_indices: int, mask_token: Any, oov_token: Any,
                 vocabulary: Any = None, idf_weights: Any = None, invert: bool = False, output_mode: str = "int",
                 sparse: bool = False, pad_to_max_tokens: bool = False, oov_method: str = "floormod",
                 salt: Any = None, vocabulary_size: int | None = None, has_input_vocabulary: bool | None = None,
                 **kwargs: Any):
        kind = type(self).__name__
        kwargs.pop("dtype", None)  # Keras records the vocabulary's dtype here; outputs have their own
        super().__init__(**kwargs)
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"{kind} expected `max_tokens` to be None or greater than 1, received {max_tokens}.")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{kind}(pad_to_max_tokens=True) needs `max_tokens`; set it or drop pad_to_max_tokens.")
        if num_oov_indices < 0:
            raise ValueError(f"{kind} expected `num_oov_indices` >= 0, received {num_oov_indices}.")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{kind} expected `oov_method` to be 'floormod' or 'farmhash', received {oov_method!r}.")
        if salt is not None and not self._text and oov_method != "farmhash":
            raise ValueError(f"{kind} uses `salt` only with oov_method='farmhash', received oov_method={oov_method!r}.")
        output_mode = check_output_mode(kind, output_mode, ("int", "one_hot", "multi_hot", "count", "tf_idf"))
        if invert and output_mode != "int":
            raise ValueError(f"{kind}(invert=True) needs output_mode='int', received {output_mode!r}.")
        refuse_sparse(kind, sparse)
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{kind} takes `idf_weights` only with output_mode='tf_idf', received {output_mode!r}.")
        self.invert = bool(invert)
        self.max_tokens = max_tokens
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.oov_method = oov_method
        self.salt = salt_pair(kind, salt)
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = vocabulary is not None if has_input_vocabulary is None else has_input_vocabulary
        # A Keras config of a layer that learned its vocabulary: the vocabulary is in the archive's assets.
        self._awaiting_assets = vocabulary is None and (vocabulary_size or 0) > self._token_start()
        if output_mode == "tf_idf" and self._has_input_vocabulary and idf_weights is None:
            raise ValueError(f"{kind} with a `vocabulary` and output_mode='tf_idf' also needs `idf_weights`.")
        self._tokens: list = []
        self._index: dict = {}
        self._vocab_size: int | None = vocabulary_size if self._awaiting_assets else None
        self._counts: collections.Counter = collections.Counter()
        self._document_counts: collections.Counter = collections.Counter()
        self._documents = 0
        self._tables: dict = {}
        self.register_buffer("idf_weights", None, persistent=False)
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # ------------------------------------------------------------------------------- vocabulary

    def _oov_start(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self) -> int:
        return self._oov_start() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The number of indices, mask and OOV indices included."""
        return self._token_start() + len(self._tokens)

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary in index order (with the mask and OOV tokens at their indices, by default)."""
        vocabulary = [self.oov_token] * self._token_start() + list(self._tokens)
        if self.mask_token is not None and self.output_mode == "int":
            vocabulary[0] = self.mask_token
        return vocabulary if include_special_tokens else vocabulary[self._token_start():]

    def _normalize_token(self, token: Any) -> Any:
        return token

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Replace the vocabulary (a list, array, tensor or a text file with one token per line), and the
        IDF weights in "tf_idf" mode."""
        kind = type(self).__name__
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{kind}.set_vocabulary needs `idf_weights` when output_mode='tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"{kind}.set_vocabulary takes `idf_weights` only when output_mode='tf_idf'.")
        if isinstance(vocabulary, str):
            with open(vocabulary, encoding="utf-8") as handle:
                vocabulary = handle.read().splitlines()
            while vocabulary and vocabulary[-1] == "":
                vocabulary.pop()
        if isinstance(vocabulary, torch.Tensor):
            vocabulary = vocabulary.tolist()
        tokens = [self._normalize_token(t) for t in np.asarray(vocabulary, dtype=object).reshape(-1).tolist()]
        if not tokens:
            raise ValueError(f"{kind} cannot set an empty vocabulary.")
        special = [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices
        found_special = tokens[:len(special)] == special
        if found_special:
            tokens = tokens[len(special):]
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(f"{kind}: the vocabulary repeats {repeated}; pass each token once.")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(
                f"{kind}: the mask token {self.mask_token!r} is inside the vocabulary; leave it out, or put the "
                f"special tokens first in exactly this order: {special}."
            )
        if self.invert and self.oov_token is not None and self.oov_token in tokens:
            raise ValueError(
                f"{kind}: the OOV token {self.oov_token!r} is inside the vocabulary; leave it out, or put the "
                f"special tokens first in exactly this order: {special}."
            )
        if self.max_tokens is not None and len(special) + len(tokens) > self.max_tokens:
            raise ValueError(
                f"{kind}: the vocabulary has {len(special) + len(tokens)} entries, more than max_tokens="
                f"{self.max_tokens}."
            )
        weights = None
        if idf_weights is not None:
            weights = np.asarray(idf_weights.detach().cpu() if isinstance(idf_weights, torch.Tensor) else idf_weights,
                                 dtype="float64")
            if weights.ndim != 1 or len(weights) != len(special) * found_special + len(tokens):
                raise ValueError(
                    f"{kind}: `idf_weights` must be 1-D with one weight per vocabulary entry "
                    f"({len(special) * found_special + len(tokens)}), received shape {weights.shape}."
                )
            front = 0 if found_special else self._token_start()
            back = self.max_tokens - front - len(weights) if self.pad_to_max_tokens else 0
            weights = np.concatenate([np.full(front, weights.mean()), weights, np.zeros(back)])
        self._store_vocabulary(tokens, weights)

    def _store_vocabulary(self, tokens: list, idf_weights: np.ndarray | None) -> None:
        kind = type(self).__name__
        size = self._token_start() + len(tokens)
        if (self.output_mode != "int" and not self.pad_to_max_tokens and self._vocab_size is not None
                and self._frozen and size != self._vocab_size):
            raise RuntimeError(
                f"{kind} with output_mode={self.output_mode!r} was already called with {self._vocab_size} indices; "
                f"its vocabulary cannot change size (to {size}). Set pad_to_max_tokens=True to allow it."
            )
        self._awaiting_assets = False
        self._tokens = tokens
        self._index = {t: self._token_start() + i for i, t in enumerate(tokens)}
        self._vocab_size = size
        self._tables = {}
        if idf_weights is not None:
            device = self._device()
            self.idf_weights = torch.as_tensor(idf_weights, dtype=torch.float32, device=device)

    def _device(self) -> torch.device:
        return self.idf_weights.device if self.idf_weights is not None else torch.device("cpu")

    # ------------------------------------------------------------------------------------ adapt

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learn the vocabulary from `data` (tokens sorted by count, ties by token, high to low; cut to
        `max_tokens`), and in "tf_idf" mode each token's inverse document frequency. `data` is an array,
        list or tensor (each row a document), or an iterable of batches (`steps` limits how many)."""
        if self._has_input_vocabulary:
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) has a fixed `vocabulary`; create it without one to "
                "adapt it."
            )
        self._counts, self._document_counts, self._documents = collections.Counter(), collections.Counter(), 0
        if isinstance(data, (list, tuple, np.ndarray, torch.Tensor)):
            array, _ = host_array(data)
            self.update_state(array.reshape(-1, 1) if array.ndim == 1 else array)
        else:
            for i, batch in enumerate(batches(data)):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch)
        self.finalize_state()

    def _documents_of(self, data: Any) -> Iterable[list]:
        array, _ = host_array(data)
        if array.ndim <= 1:
            array = array.reshape(1, -1)
        return [[self._normalize_token(t) for t in row.reshape(-1).tolist()] for row in array]

    def update_state(self, data: Any) -> None:
        """Count the tokens of one batch (rows are documents)."""
        for document in self._documents_of(data):
            self._counts.update(document)
            if self.output_mode == "tf_idf":
                self._document_counts.update(set(document))
                self._documents += 1

    def finalize_state(self) -> None:
        """Turn the counts of `update_state` into the vocabulary."""
        counts = {t: n for t, n in self._counts.items() if t != self.mask_token and t != self.oov_token}
        if not counts:
            return
        ranked = sorted(counts, key=lambda t: (counts[t], self._sort_key(t)), reverse=True)
        if self.max_tokens:
            ranked = ranked[:self.max_tokens - self._token_start()]
        weights = None
        if self.output_mode == "tf_idf":
            idf = np.array([math.log(1 + self._documents / (1 + self._document_counts[t])) for t in ranked],
                           dtype="float32").astype("float64")
            back = self.max_tokens - self._token_start() - len(idf) if self.pad_to_max_tokens else 0
            weights = np.concatenate([np.full(self._token_start(), idf.astype("float32").mean()), idf, np.zeros(back)])
        self._store_vocabulary(ranked, weights)
        self._counts, self._document_counts, self._documents = collections.Counter(), collections.Counter(), 0

    def _sort_key(self, token: Any) -> Any:
        return token.encode("utf-8") if isinstance(token, str) else token

    def reset_state(self) -> None:
        self._counts, self._document_counts, self._documents = collections.Counter(), collections.Counter(), 0

    # ------------------------------------------------------------------------------------- call

    def _check_ready(self, symbolic: bool = False) -> None:
        if self._awaiting_assets and not symbolic:  # a model being rebuilt runs it on meta tensors first
            raise RuntimeError(
                f"Layer {self.name!r} ({type(self).__name__}) was rebuilt from a config whose learned vocabulary is "
                "kept in a `.keras` archive's assets/; load the model with kt.models.load_model (which reads them), "
                "or call set_vocabulary() or adapt() first."
            )
        if self.output_mode != "int" and not self.pad_to_max_tokens and self._vocab_size is None:
            raise RuntimeError(
                f"Layer {self.name!r} ({type(self).__name__}) with output_mode={self.output_mode!r} needs its "
                "vocabulary before it is called: pass `vocabulary` or call adapt(data) first."
            )
        self._frozen = True

    def _oov_indices(self, values: np.ndarray) -> np.ndarray:
        """OOV index of each value when there are several OOV buckets (Keras's floormod or hash)."""
        if not self._text and self.oov_method != "farmhash":
            return np.mod(values.astype(np.int64), self.num_oov_indices)
        if self.salt is not None:
            return hash_buckets(values, self.num_oov_indices, lambda b: siphash24(self.salt, b))
        return hash_buckets(values, self.num_oov_indices, fingerprint64)

    def _lookup_host(self, values: np.ndarray) -> np.ndarray:
        default = self._oov_start() if self.num_oov_indices == 1 else -1
        flat = [self._normalize_token(v) for v in values.reshape(-1).tolist()]
        indices = np.array([self._index.get(v, default) for v in flat], dtype=np.int64).reshape(values.shape)
        if self.num_oov_indices == 0 and (indices == -1).any():
            missing = sorted({v for v, i in zip(flat, indices.reshape(-1)) if i == -1}, key=str)[:5]
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) has num_oov_indices=0, so every input must be in the "
                f"vocabulary; found {missing}. Set num_oov_indices=1 to map unknown tokens to an OOV index."
            )
        if self.num_oov_indices > 1:
            unknown = indices == -1
            if unknown.any():
                indices = np.where(unknown, self._oov_indices(values) + self._oov_start(), indices)
        if self.mask_token is not None:
            masked = np.array([v == self.mask_token for v in flat], dtype=bool).reshape(values.shape)
            indices = np.where(masked, 0 if self.output_mode == "int" else _INT64_MAX, indices)
        return indices

    def _encode(self, indices: torch.Tensor) -> torch.Tensor:
        if self.output_mode == "int":
            return indices
        depth = self.max_tokens if self.pad_to_max_tokens else self._vocab_size
        if self.output_mode == "tf_idf":
            counts = encode_categorical(indices, "count", depth, torch.int64)
            return counts.to(torch.float32) * self.idf_weights.to(counts.device)
        return encode_categorical(indices, self.output_mode, depth, torch.int64)

    # ----------------------------------------------------------------------------------- assets

    def _learned_tf_idf(self) -> bool:
        return self.input_vocabulary is None and self.output_mode == "tf_idf" and bool(self._tokens)

    def keras_assets(self) -> dict[str, bytes]:
        """A learned vocabulary as Keras saves it in `.keras` archives: `vocabulary.txt`, one entry a line."""
        if self.input_vocabulary is not None or not self._tokens or self._learned_tf_idf():
            return {}
        return {"vocabulary.txt": "\n".join(str(t) for t in self.get_vocabulary()).encode("utf-8")}

    def load_keras_assets(self, files: dict[str, bytes]) -> None:
        """Restore a vocabulary saved by `keras_assets` (or by Keras)."""
        if self.input_vocabulary is not None or "vocabulary.txt" not in files:
            return
        if self.output_mode == "tf_idf":
            raise NotImplementedError(
                f"Layer {self.name!r} ({type(self).__name__}): Keras saves a learned TF-IDF layer's weights under a "
                "named HDF5 entry that kerastorch does not read; save it with vocabulary= and idf_weights= instead."
            )
        lines = files["vocabulary.txt"].decode("utf-8").splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        self.set_vocabulary([self._normalize_token(line) for line in lines])

    # ----------------------------------------------------------------------------------- config

    def get_config(self) -> dict[str, Any]:
        # A learned vocabulary goes to the archive's assets, as in Keras; a learned TF-IDF vocabulary goes
        # into the config with its weights instead (Keras keeps those weights where kerastorch cannot).
        vocabulary = _listed(self.input_vocabulary)
        idf_weights = _listed(self.input_idf_weights)
        if self._learned_tf_idf():
            vocabulary = list(self._tokens)
            idf_weights = self.idf_weights[self._token_start():][:len(self._tokens)].tolist()
        return {
            "name": self.name, "trainable": self.trainable, "dtype": self.dtype,
            "invert": self.invert, "max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token, "mask_token": self.mask_token, "output_mode": self.output_mode,
            "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens, "idf_weights": idf_weights,
            "vocabulary": vocabulary, "vocabulary_size": self._vocab_size, "oov_method": self.oov_method,
            "salt": self.salt,
        }

    def get_build_config(self) -> dict:
        return {}


def _listed(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value).tolist() if not isinstance(value, list) else list(value)


class StringLookup(IndexLookup):
    """Maps strings to integer indices from a vocabulary (or indices back to strings with `invert`).

    Args:
        max_tokens: the largest vocabulary (mask and OOV indices included) `adapt()` may learn.
        num_oov_indices: how many indices out-of-vocabulary tokens hash into (0: they raise an error).
        mask_token: the token that maps to index 0 (None: no mask index).
        oov_token: the token `invert` returns for OOV indices.
        vocabulary: a list/array of strings or a text file (one per line); else call `adapt()`.
        idf_weights: the IDF weights for "tf_idf" mode with a given vocabulary.
        invert: map indices back to tokens (output_mode "int" only).
        output_mode: "int", "one_hot", "multi_hot", "count" or "tf_idf".
        pad_to_max_tokens: make encoded outputs `max_tokens` wide.
        sparse: Keras's TensorFlow-only sparse output; `True` raises NotImplementedError.
        encoding: the text encoding of byte-string inputs.
        salt: an int or a pair of ints: hash OOV tokens with the keyed SipHash instead of FarmHash.

    Inputs: strings as numpy arrays or (nested) lists; strings never reach torch, indices do.
    """

    _text = True

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1, mask_token: str | None = None,
                 oov_token: str = "[UNK]", vocabulary: Any = None, idf_weights: Any = None, invert: bool = False,
                 output_mode: str = "int", pad_to_max_tokens: bool = False, sparse: bool = False,
                 encoding: str = "utf-8", name: str | None = None, salt: Any = None, **kwargs: Any):
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, **kwargs)

    def _normalize_token(self, token: Any) -> Any:
        return token.decode(self.encoding) if isinstance(token, bytes) else token

    def forward(self, inputs: Any) -> Any:
        self._check_ready()
        if self.invert:
            indices, _ = host_array(inputs)
            vocabulary = self.get_vocabulary()
            tokens = np.array([vocabulary[i] if self._token_start() <= i < len(vocabulary) else self.oov_token
                               for i in indices.reshape(-1).tolist()], dtype=object).reshape(indices.shape)
            if self.mask_token is not None:
                tokens = np.where(indices == 0, self.mask_token, tokens)
            return tokens.tolist()  # Keras's torch backend returns Python strings too
        values, device = host_array(inputs, self.encoding)
        return self._encode(torch.as_tensor(self._lookup_host(values), device=device))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(encoding=self.encoding)
        return config


class IntegerLookup(IndexLookup):
    """Maps integers to contiguous indices from a vocabulary (or back, with `invert`), on the input's
    device. Arguments as StringLookup's, with integer `mask_token`/`oov_token` (default -1), and
    `oov_method` ("floormod": OOV index = value mod num_oov_indices; "farmhash": hashed like Keras)."""

    _text = False

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1, mask_token: int | None = None,
                 oov_token: int = -1, vocabulary: Any = None, vocabulary_dtype: str = "int64", idf_weights: Any = None,
                 invert: bool = False, output_mode: str = "int", sparse: bool = False, pad_to_max_tokens: bool = False,
                 oov_method: str = "floormod", salt: Any = None, name: str | None = None, **kwargs: Any):
        if vocabulary_dtype != "int64":
            raise ValueError(f"IntegerLookup supports vocabulary_dtype='int64' only, received {vocabulary_dtype!r}.")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=None if mask_token is None else int(mask_token),
                         oov_token=None if oov_token is None else int(oov_token), vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method, salt=salt, name=name, **kwargs)

    def _normalize_token(self, token: Any) -> Any:
        return int(token)

    def _table(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The vocabulary sorted (for searchsorted) and each entry's index, cached per device."""
        if device not in self._tables:
            keys = torch.tensor(self._tokens, dtype=torch.int64).reshape(-1)
            order = torch.argsort(keys)
            self._tables[device] = (keys[order].to(device), (order + self._token_start()).to(device))
        return self._tables[device]

    def forward(self, inputs: Any) -> torch.Tensor:
        values = inputs if isinstance(inputs, torch.Tensor) else torch.as_tensor(np.asarray(inputs))
        values = values.to(torch.int64)
        self._check_ready(symbolic=values.device.type == "meta")
        if self.invert:
            vocabulary = torch.tensor(self.get_vocabulary(), dtype=torch.int64, device=values.device)
            known = (values >= self._token_start()) & (values < len(vocabulary))
            tokens = torch.where(known, vocabulary[values.clamp(0, len(vocabulary) - 1)],
                                 torch.as_tensor(self.oov_token, device=values.device))
            if self.mask_token is not None:
                tokens = torch.where(values == 0, torch.as_tensor(self.mask_token, device=values.device), tokens)
            return tokens
        if self.num_oov_indices > 1 and self.oov_method == "farmhash" and values.device.type != "meta":
            # the hashes are computed on the host
            return self._encode(torch.as_tensor(self._lookup_host(values.cpu().numpy()), device=values.device))
        if self._tokens:
            keys, positions = self._table(values.device)
            slot = torch.searchsorted(keys, values.contiguous()).clamp(max=len(keys) - 1)
            found = keys[slot] == values
            indices = positions[slot]
        else:
            found = torch.zeros_like(values, dtype=torch.bool)
            indices = values
        if self.num_oov_indices == 0:
            if values.device.type != "meta" and not bool(found.all()):
                raise ValueError(
                    f"Layer {self.name!r} (IntegerLookup) has num_oov_indices=0, so every input must be in the "
                    f"vocabulary; found {values[~found].unique()[:5].tolist()}. Set num_oov_indices=1."
                )
        else:
            oov = (torch.remainder(values, self.num_oov_indices) if self.num_oov_indices > 1
                   else torch.zeros_like(values)) + self._oov_start()
            indices = torch.where(found, indices, oov)
        if self.mask_token is not None:
            mask_value = 0 if self.output_mode == "int" else _INT64_MAX
            indices = torch.where(values == self.mask_token, torch.as_tensor(mask_value, device=values.device), indices)
        return self._encode(indices)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(vocabulary_dtype="int64")
        return config
