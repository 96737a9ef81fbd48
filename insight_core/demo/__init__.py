"""The demo: a fictional company whose month of prompt logs exercises every part of the engine."""
