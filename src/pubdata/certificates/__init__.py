"""Electronic certificates (电子凭证, REG-29/34/37/42/43): one certificate, one code.

The registry creates the certificate *record* (``registry.certificates.certify``); this package turns it into
a signed document and keeps it verifiable:

* ``document``  the certificate's public content as canonical JSON (RFC 8785) and its signed envelope;
* ``signing``   SM2 signatures with the issuing institution's key (``crypto.keys``), a verification cache;
* ``issue``     signing a certificate record in the transaction that creates it;
* ``qr`` / ``pdf``  the public verification URL as a QR code, the A4 PDF (WeasyPrint, Noto CJK) with the
  signed JSON embedded as an attachment;
* ``status``    the public status (有效/已过期/已注销/已撤销/异议中/已更新) and the hooks other contexts add;
* ``verify``    online lookup and verification of an uploaded JSON or PDF; ``offline`` needs no database;
* ``expiry``    renewal reminders and cancellation of expired registrations (the sweep), ``revocation``;
* ``announcements``  public announcements (公告) such as cancellations after expiry.

Kept import-light: ``registry.certificates`` imports from here while certifying.
"""
