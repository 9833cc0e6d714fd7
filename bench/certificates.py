"""Certificate figures: public verification API latency and throughput at 100,000 certificates, and the cost of
issuing (sign + QR + PDF). Prints JSON.

PUBDATA_DATABASE_URL selects PostgreSQL (a scratch schema, dropped afterwards); default SQLite in a temp dir.

    PUBDATA_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/certificates.py
    .venv/bin/python bench/certificates.py --count 10000 --issue 100 --seconds 5     # quicker

Loading: one certificate is issued through the real path (``certify``: audit event, ledger leaf, signature);
the other ``--count`` are bulk-inserted with Core statements — registration, certificate and document rows
exactly as ``certify`` writes them, each document really signed (SM2, in a process pool) with the issuing
institution's key — but all naming that first issuing event, since the ledger is not what is measured here.

Lookups go over HTTP to a separate uvicorn process (one worker), from keep-alive ``http.client`` connections:
"cold" numbers have never been looked up (the SM2 verification runs, ~9 ms in pure-Python gmssl), "warm" ones
were (the verification cache answers). Issuing is timed per part on ``--issue`` certificates.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import http.client
import json
import multiprocessing
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.registry.support
sys.path.insert(0, str(Path(__file__).resolve().parent))  # for stats

from stats import summary

from pubdata import clock
from pubdata.certificates import document, pdf, qr, signing
from pubdata.certificates.issue import document_of
from pubdata.certificates.models import CertificateDocument
from pubdata.config import Settings
from pubdata.crypto import sm2, sm3
from pubdata.crypto.keys import KeyRing
from pubdata.db.testing import scratch_engine
from pubdata.files.store import BlobStore
from pubdata.identity.roles import Role
from pubdata.ledger.canonical import canonical_bytes
from pubdata.registry import codes
from pubdata.registry.models import Certificate, Registration

BATCH = 2000


# -- loading --------------------------------------------------------------------------------------------------

def _sign_batch(private_key: int, public_key: bytes, payloads: list[bytes]) -> list[bytes]:
    return [sm2.sign(private_key, p, public_key=public_key) for p in payloads]


def _first_certificate(engine: Engine, settings: Settings, tmp: Path) -> dict[str, Any]:
    """One certificate through the real path; its rows are the template for the bulk load."""
    from sqlalchemy.orm import sessionmaker

    from tests.factories import actor_of, make_user
    from tests.registry.support import registered

    with sessionmaker(bind=engine, expire_on_commit=False, info={signing.SETTINGS_INFO: settings})() as s, s.begin():
        subject = actor_of(make_user(s, Role.REGISTRATION_SUBJECT))
        clerk = actor_of(make_user(s, Role.REGISTRATION_INSTITUTION))
        with clock.frozen(dt.date(2026, 11, 16)):
            app = registered(s, subject, clerk, tmp)
        cert = s.scalar(select(Certificate).where(Certificate.registration_id == app.registration_id))
        doc = document_of(s, cert.id)
        return {"subject_org_id": app.registration.subject_org_id, "application_id": app.id,
                "certificate": json.loads(doc.signed_json), "key_name": doc.key_name,
                "event_id": doc.ledger_event_id, "leaf_index": doc.ledger_leaf_index, "number": cert.number}


def load(engine: Engine, settings: Settings, count: int, tmp: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    first = _first_certificate(engine, settings, tmp)
    key = KeyRing.open(settings, first["key_name"]).signing_key()
    template = first["certificate"]
    base_id = 1_000_000
    numbers: list[str] = [first["number"]]
    sign_seconds = 0.0
    workers = os.cpu_count() or 1
    with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for start in range(0, count, BATCH):
            ids = range(base_id + start, base_id + min(count, start + BATCH))
            regs, certs, objects = [], [], []
            for i in ids:
                number = codes.make(codes.CERTIFICATE, 2026, i)
                reg_code = codes.make(codes.REGISTRATION, 2026, i)
                numbers.append(number)
                regs.append({"id": i, "code": reg_code, "subject_org_id": first["subject_org_id"],
                             "registration_type": "data_resource", "data_name": f"基准测试数据 {i}",
                             "name_key": f"基准测试数据{i}", "status": "registered", "current_version": 1,
                             "version": 1, "created_at": dt.datetime.now(dt.UTC)})
                certs.append({"id": i, "number": number, "registration_id": i, "version_no": 1,
                              "application_id": first["application_id"], "issued_on": dt.date(2026, 11, 16),
                              "valid_from": dt.date(2026, 11, 16), "valid_until": dt.date(2029, 11, 15),
                              "status": "valid", "created_at": dt.datetime.now(dt.UTC)})
                obj = json.loads(json.dumps(template))
                obj["number"], obj["registration"]["code"] = number, reg_code
                obj["data"]["name"] = f"基准测试数据 {i}"
                obj["verify_url"] = qr.verify_url(settings, number)
                objects.append(obj)
            payloads = [canonical_bytes(o) for o in objects]
            ts = time.perf_counter()
            chunks = [payloads[j::workers] for j in range(workers)]
            signed = list(pool.map(_sign_batch, [key.private_key] * workers, [key.public.public_key] * workers,
                                   chunks))
            sign_seconds += time.perf_counter() - ts
            signatures: list[bytes] = [b""] * len(payloads)
            for j, part in enumerate(signed):
                signatures[j::workers] = part
            docs = [{"id": i, "certificate_id": i, "registration_id": i, "format": document.FORMAT,
                     "certificate_version": 1, "signed_json": p.decode(), "document_sm3": sm3.hexdigest(p),
                     "signature": sig, "key_name": first["key_name"], "key_id": key.key_id,
                     "ledger_event_id": first["event_id"], "ledger_leaf_index": first["leaf_index"],
                     "created_at": dt.datetime.now(dt.UTC)}
                    for i, p, sig in zip(ids, payloads, signatures, strict=True)]
            with engine.begin() as conn:  # bulk rows: the audit hooks are ORM session hooks, not used here
                conn.execute(insert(Registration.__table__), regs)
                conn.execute(insert(Certificate.__table__), certs)
                conn.execute(insert(CertificateDocument.__table__), docs)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return {"numbers": numbers, "seconds": round(time.perf_counter() - t0, 1),
            "bulk_sign_seconds": round(sign_seconds, 1), "sign_workers": workers}


# -- serving and measuring ------------------------------------------------------------------------------------

def _serve(url: str, var_dir: str, port: int) -> None:
    import logging

    import uvicorn

    from pubdata.db.session import make_engine, session_factory
    from pubdata.web.app import create_app

    logging.getLogger("pubdata").setLevel(logging.WARNING)
    settings = Settings(var_dir=Path(var_dir), secret_key="bench", base_url=f"http://127.0.0.1:{port}")
    app = create_app(settings, session_maker=session_factory(make_engine(url)))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, number: str) -> float:
        t0 = time.perf_counter()
        self.conn.request("GET", f"/api/v1/public/certificates/{number}")
        response = self.conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - t0
        if response.status != 200 or b'"signature_valid":true' not in body:
            raise RuntimeError(f"{number}: HTTP {response.status} {body[:200]!r}")
        return elapsed


def single(port: int, numbers: list[str]) -> list[float]:
    client = Client(port)
    return [client.get(n) for n in numbers]


def concurrent(port: int, pool: list[str], clients: int, seconds: float) -> dict[str, Any]:
    stop = time.perf_counter() + seconds
    results: list[list[float]] = [[] for _ in range(clients)]

    def work(slot: int) -> None:
        client, rng = Client(port), random.Random(slot)
        while time.perf_counter() < stop:
            results[slot].append(client.get(rng.choice(pool)))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    latencies = [x for r in results for x in r]
    return {"clients": clients, "seconds": round(elapsed, 1), "requests_per_s": round(len(latencies) / elapsed),
            **summary(latencies)}


def measure_lookups(engine: Engine, settings: Settings, numbers: list[str], seconds: float) -> dict[str, Any]:
    port = _free_port()
    url = engine.url.render_as_string(hide_password=False)
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(url, str(settings.var_dir), port),
                                                          daemon=True)
    server.start()
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        rng = random.Random(7)
        shuffled = numbers[:]
        rng.shuffle(shuffled)
        # Three disjoint groups: a few to warm the server process up (imports, connection pool), up to 1,000
        # looked up once cold and then again warm, and the rest for the cold concurrent run (drawn with
        # replacement, so with a small --count that run turns warm as it goes).
        w = max(1, min(50, len(shuffled) // 10))
        k = max(1, min(1000, (len(shuffled) - w) // 3))
        single(port, shuffled[:w])
        warm_pool = shuffled[w:w + k]
        cold_single = summary(single(port, warm_pool))
        warm_single = summary(single(port, warm_pool))
        warm_8 = concurrent(port, warm_pool, 8, seconds)
        cold_8 = concurrent(port, shuffled[w + k:], 8, seconds)
        warm_1 = concurrent(port, warm_pool, 1, seconds)
    finally:
        server.terminate()
        server.join(10)
    return {"single_client_cold": cold_single, "single_client_warm": warm_single,
            "one_client_warm_throughput": warm_1, "eight_clients_warm": warm_8, "eight_clients_cold": cold_8}


# -- issuing --------------------------------------------------------------------------------------------------

def measure_issuing(settings: Settings, template: dict[str, Any], key_name: str, n: int) -> dict[str, Any]:
    store = BlobStore.from_settings(settings)
    parts: dict[str, list[float]] = {"build": [], "sign": [], "qr": [], "pdf": [], "store": []}
    sizes = []
    pdf.render(signing.sign(settings, template, key_name=key_name))  # first render loads WeasyPrint and fonts
    for i in range(n):
        number = codes.make(codes.CERTIFICATE, 2027, 5_000_000 + i)
        t0 = time.perf_counter()
        obj = json.loads(json.dumps(template))
        obj["number"], obj["verify_url"] = number, qr.verify_url(settings, number)
        t1 = time.perf_counter()
        envelope = signing.sign(settings, obj, key_name=key_name)
        t2 = time.perf_counter()
        qr.svg_data_uri(obj["verify_url"])
        t3 = time.perf_counter()
        data = pdf.render(envelope)
        t4 = time.perf_counter()
        with store.writer(filename=f"{number}.pdf", declared_type="application/pdf", field="pdf") as writer:
            writer.write(data)
            writer.seal().commit()
        t5 = time.perf_counter()
        for name, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            parts[name].append(seconds)
        sizes.append(len(data))
    means = {k: round(statistics.fmean(v) * 1e3, 2) for k, v in parts.items()}
    total = sum(means.values())
    return {"certificates": n, "ms_per_certificate": round(total, 1), "ms_by_part": means,
            "share_by_part": {k: round(v / total, 3) for k, v in means.items()},
            "dominant_part": max(means, key=lambda k: means[k]), "pdf_kib_mean": round(statistics.fmean(sizes) / 1024),
            "note": "pdf includes rendering its own QR code and the fontconfig check; sign is SM2 with gmssl"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000, help="certificates in the database")
    parser.add_argument("--issue", type=int, default=1000, help="certificates to issue for the issuing figures")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each throughput run")
    args = parser.parse_args()
    with scratch_engine() as engine, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(var_dir=Path(tmp) / "var", secret_key="bench", base_url="https://pubdata.example.gov.cn")
        loaded = load(engine, settings, args.count, Path(tmp))
        numbers = loaded.pop("numbers")
        lookups = measure_lookups(engine, settings, numbers, args.seconds)
        with engine.connect() as conn:
            template = json.loads(conn.execute(select(CertificateDocument.signed_json)
                                               .order_by(CertificateDocument.id).limit(1)).scalar_one())
            key_name = conn.execute(select(CertificateDocument.key_name).limit(1)).scalar_one()
        issuing = measure_issuing(settings, template, key_name, args.issue)
        print(json.dumps({
            "database": engine.dialect.name, "certificates": len(numbers), "load": loaded,
            "sm2_backend": sm2.backend().name, "cpus": os.cpu_count(),
            "verification_api": lookups, "issuing": issuing,
        }, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
