"""Recurrent layers and cells (Keras's `keras.layers` names)."""

from .cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from .rnn import GRU, LSTM, RNN, SimpleRNN
from .wrappers import Bidirectional, TimeDistributed

__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells",
           "Bidirectional", "TimeDistributed"]
