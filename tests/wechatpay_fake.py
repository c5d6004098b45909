"""A small fake of WeChat Pay's API v3 (service-provider mode) for tests: a werkzeug app on 127.0.0.1:<free port>
in a thread, modelled on tests/stripe_fake.py.

It has its own RSA platform key and a self-signed platform certificate made at start, checks every request's
merchant signature (the Authorization header) against the app's merchant key, and signs every answer the way WeChat
does (Wechatpay-Timestamp/-Nonce/-Serial/-Signature over "timestamp\\nnonce\\nbody\\n"), so the real `wechatpayv3`
client verifies them. It answers what the app calls: Native and H5 orders, order query, close, refund, refund
query, and the platform certificate download. Callbacks are built like WeChat's: the resource encrypted with
AEAD_AES_256_GCM under the APIv3 key, the notice signed with the platform key.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SP_MCHID = "1900000100"
SP_APPID = "wx8888888888888888"
APIV3_KEY = "0123456789abcdef0123456789ABCDEF"  # 32 bytes
MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
SUB_MCHID_A = "1900000109"
SUB_MCHID_B = "1900000110"


def _rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_private(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _certificate(key, serial: int) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (fake)")])
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(serial).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))


def sign(key, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def encrypt(plain: dict, *, key: str = APIV3_KEY, associated_data: str = "transaction") -> dict:
    nonce = secrets.token_hex(6)  # 12 characters, as WeChat's
    data = AESGCM(key.encode()).encrypt(nonce.encode(), json.dumps(plain).encode(), associated_data.encode())
    return {"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.b64encode(data).decode(),
            "associated_data": associated_data, "original_type": "transaction", "nonce": nonce}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    body: dict


@dataclass
class FakeWeChatPay:
    requests: list[Recorded] = field(default_factory=list)
    orders: dict = field(default_factory=dict)
    refunds: dict = field(default_factory=dict)
    refund_status: str = "PROCESSING"  # what a new refund answers at once (SUCCESS in some tests)
    fail_next: int = 0  # answer the next n requests with a 500
    _ids: itertools.count = field(default_factory=lambda: itertools.count(4200000001))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    def __post_init__(self):
        self.platform_key = _rsa_key()
        self.platform_serial = int(secrets.token_hex(16), 16)
        self.platform_cert = _certificate(self.platform_key, self.platform_serial)
        self.merchant_key = _rsa_key()
        self.forged_key = _rsa_key()

    @property
    def serial_hex(self) -> str:
        return format(self.platform_serial, "X")

    @property
    def cert_pem(self) -> str:
        return self.platform_cert.public_bytes(serialization.Encoding.PEM).decode()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.orders.clear()
            self.refunds.clear()
            self.refund_status = "PROCESSING"
            self.fail_next = 0

    def calls(self, path_start: str = "", method: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(path_start) and (method is None or r.method == method)]

    # --- what a payer does ------------------------------------------------------------------------

    def pay(self, out_trade_no: str, *, when: dt.datetime | None = None) -> dict:
        """The payer scans and pays: the order becomes SUCCESS (as WeChat would record it)."""
        order = self.orders[out_trade_no]
        order.update(trade_state="SUCCESS", trade_state_desc="支付成功", transaction_id=str(next(self._ids)),
                     success_time=(when or dt.datetime.now(dt.UTC)).astimezone(
                         dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds"))
        return order

    def transaction(self, out_trade_no: str) -> dict:
        order = self.orders[out_trade_no]
        body = {key: order[key] for key in ("sp_appid", "sp_mchid", "sub_mchid", "out_trade_no", "trade_type",
                                            "trade_state", "trade_state_desc", "attach") if key in order}
        body["amount"] = {"total": order["amount"]["total"], "payer_total": order["amount"]["total"],
                          "currency": "CNY", "payer_currency": "CNY"}
        if order.get("transaction_id"):
            body.update(transaction_id=order["transaction_id"], success_time=order["success_time"],
                        bank_type="OTHERS", payer={"sp_openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"})
        return body

    # --- callbacks, as WeChat sends them ------------------------------------------------------------

    def notice(self, resource: dict, event_type: str = "TRANSACTION.SUCCESS", *, key=None, timestamp=None,
               serial: str | None = None, apiv3_key: str = APIV3_KEY) -> tuple[dict, bytes]:
        body = json.dumps({"id": secrets.token_hex(16), "create_time": dt.datetime.now().isoformat(),
                           "resource_type": "encrypt-resource", "event_type": event_type,
                           "summary": "支付成功", "resource": encrypt(resource, key=apiv3_key)}).encode()
        return self.signed_headers(body.decode(), key=key, timestamp=timestamp, serial=serial), body

    def payment_notice(self, out_trade_no: str, **kwargs) -> tuple[dict, bytes]:
        return self.notice(self.transaction(out_trade_no), **kwargs)

    def refund_notice(self, out_refund_no: str, **kwargs) -> tuple[dict, bytes]:
        refund = self.refunds[out_refund_no]
        resource = {key: refund[key] for key in ("sp_mchid", "sub_mchid", "out_trade_no", "transaction_id",
                                                 "out_refund_no", "refund_id", "amount")}
        resource["refund_status"] = refund["status"]
        if refund.get("success_time"):
            resource["success_time"] = refund["success_time"]
        return self.notice(resource, "REFUND." + refund["status"], **kwargs)

    def finish_refund(self, out_refund_no: str, status: str = "SUCCESS") -> dict:
        refund = self.refunds[out_refund_no]
        refund["status"] = status
        if status == "SUCCESS":
            refund["success_time"] = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).isoformat(
                timespec="seconds")
        return refund

    def signed_headers(self, body: str, *, key=None, timestamp=None, serial: str | None = None) -> dict:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        nonce = secrets.token_hex(16)
        return {"Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": nonce,
                "Wechatpay-Serial": serial or self.serial_hex,
                "Wechatpay-Signature": sign(key or self.platform_key, f"{stamp}\n{nonce}\n{body}\n"),
                "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}

    # --- the server ---------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        raw = request.get_data(as_text=True)
        recorded = Recorded(request.method, request.path, {k: v[0] for k, v in parse_qs(request.query_string
                                                                                         .decode()).items()},
                            json.loads(raw) if raw else {})
        with self._lock:
            self.requests.append(recorded)
            response = self._respond(request, recorded, raw)
        return response(environ, start_response)

    def _check_merchant(self, request: Request, raw: str) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("WECHATPAY2-SHA256-RSA2048 "):
            return False
        parts = dict(item.split("=", 1) for item in header.split(" ", 1)[1].split(","))
        parts = {k: v.strip('"') for k, v in parts.items()}
        if parts.get("mchid") != SP_MCHID or parts.get("serial_no") != MERCHANT_SERIAL:
            return False
        path = request.full_path.rstrip("?")
        message = f"{request.method}\n{path}\n{parts['timestamp']}\n{parts['nonce_str']}\n{raw}\n"
        try:
            self.merchant_key.public_key().verify(base64.b64decode(parts["signature"]), message.encode(),
                                                  padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return False
        return True

    def _respond(self, request: Request, recorded: Recorded, raw: str) -> Response:
        if not self._check_merchant(request, raw):
            return self._answer({"code": "SIGN_ERROR", "message": "签名错误"}, 401)
        if self.fail_next > 0:
            self.fail_next -= 1
            return self._answer({"code": "SYSTEM_ERROR", "message": "系统错误"}, 500)
        path, body, query = request.path, recorded.body, recorded.query
        if request.method == "GET" and path == "/v3/certificates":
            return self._answer({"data": [{
                "serial_no": self.serial_hex, "effective_time": "2020-01-01T00:00:00+08:00",
                "expire_time": "2099-01-01T00:00:00+08:00",
                "encrypt_certificate": {**encrypt({}, associated_data="certificate"),
                                        "ciphertext": self._encrypted_cert()}}]})
        if request.method == "POST" and path in ("/v3/pay/partner/transactions/native",
                                                 "/v3/pay/partner/transactions/h5"):
            if body.get("sp_mchid") != SP_MCHID or not body.get("sub_mchid"):
                return self._answer({"code": "PARAM_ERROR", "message": "商户号错误"}, 400)
            if body["out_trade_no"] in self.orders:
                return self._answer({"code": "ORDER_NO_USED", "message": "商户订单号重复"}, 400)
            h5 = path.endswith("/h5")
            self.orders[body["out_trade_no"]] = {
                **body, "trade_type": "MWEB" if h5 else "NATIVE", "trade_state": "NOTPAY",
                "trade_state_desc": "订单未支付"}
            if h5:
                return self._answer({"h5_url": "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id="
                                               f"wx{body['out_trade_no']}&package=1"})
            return self._answer({"code_url": f"weixin://wxpay/bizpayurl?pr={body['out_trade_no'][-8:]}"})
        if path.startswith("/v3/pay/partner/transactions/out-trade-no/"):
            out_trade_no = path.split("/")[6]
            order = self.orders.get(out_trade_no)
            sub_mchid = query.get("sub_mchid") or body.get("sub_mchid")
            if order is None or order["sub_mchid"] != sub_mchid:
                return self._answer({"code": "ORDER_NOT_EXIST", "message": "订单不存在"}, 404)
            if request.method == "POST" and path.endswith("/close"):
                if order["trade_state"] == "SUCCESS":
                    return self._answer({"code": "ORDERPAID", "message": "订单已支付"}, 400)
                order.update(trade_state="CLOSED", trade_state_desc="订单已关闭")
                return self._answer(None, 204)
            return self._answer(self.transaction(out_trade_no))
        if request.method == "POST" and path == "/v3/refund/domestic/refunds":
            order = self.orders.get(body.get("out_trade_no"))
            if order is None or order["sub_mchid"] != body.get("sub_mchid") or order["trade_state"] != "SUCCESS":
                return self._answer({"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}, 404)
            refunded = sum(r["amount"]["refund"] for r in self.refunds.values()
                           if r["out_trade_no"] == order["out_trade_no"] and r["status"] != "CLOSED")
            if body["amount"]["refund"] + refunded > order["amount"]["total"]:
                return self._answer({"code": "INVALID_REQUEST", "message": "退款金额超过订单金额"}, 400)
            refund = {"sp_mchid": SP_MCHID, "sub_mchid": order["sub_mchid"], "out_trade_no": order["out_trade_no"],
                      "transaction_id": order["transaction_id"], "out_refund_no": body["out_refund_no"],
                      "refund_id": str(next(self._ids)), "status": self.refund_status,
                      "amount": {"refund": body["amount"]["refund"], "total": order["amount"]["total"],
                                 "payer_refund": body["amount"]["refund"], "payer_total": order["amount"]["total"],
                                 "currency": "CNY"}}
            self.refunds[body["out_refund_no"]] = refund
            if refund["status"] == "SUCCESS":
                self.finish_refund(body["out_refund_no"])
            return self._answer(refund)
        if request.method == "GET" and path.startswith("/v3/refund/domestic/refunds/"):
            refund = self.refunds.get(path.rsplit("/", 1)[1])
            if refund is None or refund["sub_mchid"] != query.get("sub_mchid"):
                return self._answer({"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}, 404)
            return self._answer(refund)
        return self._answer({"code": "NOT_FOUND", "message": f"{request.method} {path}"}, 404)

    def _encrypted_cert(self) -> str:
        return ""  # the tests hand the certificate over in WECHATPAY_PLATFORM_CERT_DIR

    def _answer(self, body: dict | None, status: int = 200) -> Response:
        text = json.dumps(body) if body is not None else ""
        headers = self.signed_headers(text)
        headers["Request-ID"] = secrets.token_hex(8)
        return Response(text, status=status, content_type="application/json", headers=headers)


_server = None
_fake: FakeWeChatPay | None = None


def _start() -> FakeWeChatPay:
    global _server, _fake
    if _fake is None:
        _fake = FakeWeChatPay()
        _server = make_server("127.0.0.1", 0, _fake, threaded=True)
        _fake.base_url = f"http://127.0.0.1:{_server.server_port}"
        threading.Thread(target=_server.serve_forever, daemon=True, name="fake-wechatpay").start()
    return _fake


@pytest.fixture
def fake_wechatpay(app, monkeypatch, tmp_path):
    """The fake server, emptied, with the app configured as the platform's service-provider account against it
    (the merchant key and the platform certificate written to tmp_path)."""
    from tenants.fees import wechat_pay

    fake = _start()
    fake.reset()
    key = tmp_path / "apiclient_key.pem"
    key.write_text(_pem_private(fake.merchant_key))
    certs = tmp_path / "wechatpay_certs"
    certs.mkdir()
    (certs / f"{fake.serial_hex}.pem").write_text(fake.cert_pem)
    for name, value in {"WECHATPAY_SP_MCHID": SP_MCHID, "WECHATPAY_SP_APPID": SP_APPID,
                        "WECHATPAY_PRIVATE_KEY": str(key), "WECHATPAY_CERT_SERIAL_NO": MERCHANT_SERIAL,
                        "WECHATPAY_APIV3_KEY": APIV3_KEY, "WECHATPAY_PLATFORM_CERT_DIR": str(certs),
                        "WECHATPAY_NOTIFY_URL": "https://guanjia.example", "WECHATPAY_API_BASE": fake.base_url,
                        }.items():
        monkeypatch.setitem(app.config, name, value)
    wechat_pay.reset_client()
    yield fake
    wechat_pay.reset_client()
    fake.reset()


def post_notice(client, headers: dict, body: bytes):
    return client.post("/wechatpay/notify", data=body, content_type="application/json", headers=headers)
