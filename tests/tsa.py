"""A real RFC 3161 time-stamping authority on loopback: `openssl ts -reply` behind HTTP."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

_CONFIG = """\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = vigil test TSA
[ tsa_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


class LocalTsa:
    """A TSA whose key and self-signed certificate (EKU timeStamping, critical) it makes
    with the openssl CLI; ``url`` takes timestamp queries, ``certificate`` is its PEM."""

    def __init__(self, host: str = "127.0.0.5") -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="vigil-tsa-")
        self.dir = Path(self._dir.name)
        self.config = self.dir / "openssl.cnf"
        self.config.write_text(_CONFIG.format(dir=self.dir))
        (self.dir / "serial").write_text("01\n")
        self.certificate = self.dir / "tsa.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                        "-keyout", str(self.dir / "tsa.key"), "-out", str(self.certificate),
                        "-config", str(self.config), "-extensions", "tsa_ext"],
                       check=True, capture_output=True)
        self.queries = 0
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = self.rfile.read(int(self.headers["Content-Length"]))
                reply = tsa.reply(query)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self._server.server_address[1]}/tsa"
        self._lock = threading.Lock()

    def reply(self, query: bytes) -> bytes:
        with self._lock:  # openssl ts keeps its serial number in one file
            self.queries += 1
            queryfile = self.dir / "query.tsq"
            queryfile.write_bytes(query)
            done = subprocess.run(["openssl", "ts", "-reply", "-config", str(self.config),
                                   "-queryfile", str(queryfile), "-out", "-"],
                                  check=True, capture_output=True)
            return done.stdout

    def __enter__(self) -> LocalTsa:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._dir.cleanup()
