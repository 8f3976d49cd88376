import struct
import zlib

from models.train.experiments import plot


def test_png_is_valid(tmp_path):
    path = tmp_path / "p.png"
    plot.plot(str(path), {"a": ([0, 1, 2], [1.0, 2.0, 1.5]), "b": ([0, 2], [0.0, 3.0])},
              "TITLE", "STEP", "DB", hlines={"NOISY": 1.0}, size=(300, 200))
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    assert (w, h) == (300, 200)
    idat = data.index(b"IDAT")
    n = struct.unpack(">I", data[idat - 4:idat])[0]
    raw = zlib.decompress(data[idat + 4:idat + 4 + n])
    assert len(raw) == h * (1 + 3 * w)
