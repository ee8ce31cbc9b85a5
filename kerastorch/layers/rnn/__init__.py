"""Recurrent layers and cells (Keras's `keras.layers` names)."""

from .cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from .conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from .rnn import GRU, LSTM, RNN, SimpleRNN
from .wrappers import Bidirectional, TimeDistributed

__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells",
           "Bidirectional", "TimeDistributed", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]
