"""`kt.utils`: Keras 3's `keras.utils`."""
