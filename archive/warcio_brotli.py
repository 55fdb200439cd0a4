"""warcio's brotli reader made to work with the brotli the project installs (>= 1.2)."""

from __future__ import annotations

import sys

import brotli
from warcio.bufferedreaders import BufferedReader

from archive.payload import DEFAULT_DECODE_CAP, DecodeCapExceeded

# warcio 1.8.1 (the latest) wraps brotli.Decompressor as if it were brotlipy's: it
# sets an unused_data attribute on it and calls decompress and flush. Google's
# brotli (>= 1.2, which Scrapy 2.19 requires) has neither and refuses new attributes,
# so every Content-Encoding: br record makes warcio's readers, and warcio check,
# raise AttributeError (the error of webrecorder/warcio#73, 2019: Google's brotli in
# place of brotlipy; warcio's [all] extra still names brotlipy, whose module would
# shadow Google's and break Scrapy's bounded brotli decoding).
# Pinning brotli cannot help: 1.1 refuses the attribute too, and Scrapy needs 1.2.
# install() puts a decompressor with the interface warcio expects in its table.

_PIECE = 1 << 16


class BrotliForWarcio:
    """brotlipy's decompressor interface over brotli >= 1.2, bounded: one call that would
    inflate past the decode cap raises (warcio then stops decoding that record; its
    digests are over the stored bytes, and are still checked)."""

    def __init__(self, cap: int = DEFAULT_DECODE_CAP) -> None:
        self._decompressor = brotli.Decompressor()
        self._cap = cap
        # warcio reads it to find the next gzip member; a brotli body has none.
        self.unused_data = b""

    def decompress(self, data: bytes) -> bytes:
        # warcio wants all the output this input gives: drain what the limit holds back.
        out = bytearray(self._decompressor.process(data, output_buffer_limit=_PIECE))
        while not self._decompressor.is_finished():
            piece = self._decompressor.process(b"", output_buffer_limit=_PIECE)
            if not piece:
                break
            out += piece
            if len(out) > self._cap:
                raise DecodeCapExceeded(self._cap, ["br"])
        return bytes(out)

    def flush(self) -> bytes:
        return b""


def install() -> None:
    """Make warcio's readers (in this process) decode brotli with ``BrotliForWarcio``."""
    BufferedReader.DECOMPRESSORS["br"] = BrotliForWarcio


def main(argv: list[str] | None = None) -> None:
    """``python -m archive.warcio_brotli check FILE...``: warcio's own command line, with
    its brotli reader fixed."""
    from warcio.cli import main as warcio_main

    install()
    warcio_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
