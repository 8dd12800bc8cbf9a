"""10 MiB through one tunnel in each direction, checked by SHA-256 (no timing thresholds)."""

import os
import shutil
import tempfile
import unittest

import harness
from harness import pattern_bytes, sha256_hex

TEN_MIB = 10 * 1024 * 1024


class LargeBodies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = harness.class_relay(cls)
        cls.backend = harness.class_backend(cls)
        cls.pub, cls.url = harness.publish_and_wait(cls.relay, f"big:80:localhost:{cls.backend.port}")
        cls.prepare_fixtures()

    @classmethod
    def prepare_fixtures(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tg-large-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.upload = os.path.join(cls.tmp, "upload.bin")
        with open(cls.upload, "wb") as f:
            f.write(pattern_bytes(TEN_MIB))
        cls.expected = sha256_hex(pattern_bytes(TEN_MIB))

    def test_upload_10mib_content_length(self):
        r = self.relay.curl("big", "/sha256", data_file=self.upload)
        self.assertEqual((r.returncode, r.status), (0, 200), r.describe())
        self.assertEqual(r.headers.get("x-body-length"), str(TEN_MIB), r.describe())
        self.assertEqual(r.body.decode(), self.expected)

    def test_upload_10mib_chunked(self):
        r = self.relay.curl("big", "/sha256", data_file=self.upload, headers=["Transfer-Encoding: chunked"])
        self.assertEqual((r.returncode, r.status), (0, 200), r.describe())
        self.assertEqual(r.headers.get("x-body-length"), str(TEN_MIB), r.describe())
        self.assertEqual(r.body.decode(), self.expected)

    def _download(self, path):
        r = self.relay.curl("big", path)
        self.assertEqual((r.returncode, r.status), (0, 200), r.describe())
        self.assertEqual(len(r.body), TEN_MIB)
        self.assertEqual(sha256_hex(r.body), self.expected)

    def test_download_10mib_content_length(self):
        self._download(f"/bytes?n={TEN_MIB}")

    def test_download_10mib_chunked(self):
        self._download(f"/chunked?n={TEN_MIB}")


if __name__ == "__main__":
    unittest.main()
