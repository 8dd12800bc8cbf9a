"""The admin status page as a person sees it: headless Chromium (Debian's package) loads it,
its rendered DOM must hold one table row per published tunnel, and its screenshot must show
those rows: the area under the table header has to gain ink once tunnels are published."""

import os
import shutil
import subprocess
import tempfile
import unittest
import zlib

import harness

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
WIDTH, HEIGHT = 1400, 600


def chromium(*args):
    binary = shutil.which("chromium")
    if binary is None:
        raise AssertionError("chromium is not installed: tools/setup.sh installs it")
    profile = tempfile.mkdtemp(prefix="tg-chromium-")
    try:
        return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def png_rows(path):
    """Decodes an 8-bit RGB/RGBA PNG (what Chromium writes) into rows of pixel bytes."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
            assert body[8] == 8, "only 8-bit PNGs"
            channels = {2: 3, 6: 4}[body[9]]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        kind, row = line[0], bytearray(line[1:])
        for x in range(stride):
            left = row[x - channels] if x >= channels else 0
            up, up_left = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                row[x] = (row[x] + left) & 255
            elif kind == 2:
                row[x] = (row[x] + up) & 255
            elif kind == 3:
                row[x] = (row[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                row[x] = (row[x] + predictor) & 255
        rows.append(bytes(row))
        previous = row
    return width, height, channels, rows


def dark_pixels(path, top, bottom):
    width, height, channels, rows = png_rows(path)
    count = 0
    for y in range(max(0, top), min(height, bottom)):
        row = rows[y]
        for x in range(0, width * channels, channels):
            if row[x] < 128 and row[x + 1] < 128 and row[x + 2] < 128:
                count += 1
    return count


class StatusPageInChromium(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.admin_port = harness.free_port()
        cls.relay = harness.class_relay(
            cls, extra_config=f'\n[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\n')
        cls.backend = harness.class_backend(cls, "page-backend")
        cls.dir = tempfile.mkdtemp(prefix="tg-page-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)

    def screenshot(self, name):
        path = os.path.join(self.dir, name)
        proc = chromium(f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={path}",
                        f"http://127.0.0.1:{self.admin_port}/")
        self.assertTrue(os.path.exists(path), proc.stderr.decode(errors="replace")[-2000:])
        return path

    def test_the_table_renders_one_row_per_tunnel(self):
        # The header row sits near the top; rows appear below it. Measure the band under it.
        band = (130, 330)
        empty = dark_pixels(self.screenshot("empty.png"), *band)

        publishers = []
        for name in ("page-one", "page-two", "page-three"):
            pub = self.relay.publish(f"{name}:80:localhost:{self.backend.port}")
            self.addCleanup(pub.close)
            pub.wait_for_url()
            publishers.append(pub)

        dom = chromium("--dump-dom", f"http://127.0.0.1:{self.admin_port}/")
        html = dom.stdout.decode(errors="replace")
        self.assertIn('<table id="tunnels">', html, dom.stderr.decode(errors="replace")[-2000:])
        for name in ("page-one", "page-two", "page-three"):
            self.assertIn(f"<td>{name}</td>", html)
        self.assertEqual(html.count("<tr>"), 1 + 3, "one header row and one row per tunnel")

        full = dark_pixels(self.screenshot("full.png"), *band)
        # Three rows of text (names, URLs, key fingerprints) add thousands of dark pixels.
        print(f"dark pixels under the header: {empty} empty, {full} with three tunnels")
        self.assertGreater(full, empty + 1500, f"rows did not render: {empty} -> {full} dark px")


if __name__ == "__main__":
    unittest.main()
