"""WeChat Pay (微信支付) through the platform's service-provider (服务商) account, on the ``wechatpayv3`` package.

The platform holds one service-provider account (WECHATPAY_SP_MCHID / _SP_APPID and its API key pair); each company
is a sub-merchant (特约商户) whose ``companies.wechat_sub_mchid`` a platform admin enters. Every order names the
company's sub_mchid, so the money settles to the company: the platform never holds owners' money.

This module only talks to WeChat: it makes Native (a QR's ``code_url``) and H5 (an ``h5_url``) orders, queries and
closes them, asks for refunds, and verifies and decrypts callbacks (signature headers, AEAD_AES_256_GCM resource)
with the package's own functions. What the answers mean for the ledger is tenants/fees/online.py.

Tests point the client at a local fake (tests/wechatpay_fake.py) through WECHATPAY_API_BASE.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from flask import current_app

from saas.clock import SHANGHAI
from saas.errors import ServiceError
from saas.i18n import _l

log = logging.getLogger(__name__)

REQUIRED = ("WECHATPAY_SP_MCHID", "WECHATPAY_SP_APPID", "WECHATPAY_PRIVATE_KEY", "WECHATPAY_CERT_SERIAL_NO",
            "WECHATPAY_APIV3_KEY", "WECHATPAY_NOTIFY_URL")
CALLBACK_MAX_AGE = 300  # seconds a signed callback's timestamp may differ from our clock (replays of old ones)
TIMEOUT = (5, 15)  # connect, read


class WeChatPayError(ServiceError):
    """WeChat Pay refused a request, could not be reached, or is not set up for this company."""


class CallbackRejected(Exception):
    """A callback that is not from WeChat Pay (bad signature, stale timestamp) or cannot be read."""


def configured() -> bool:
    """The platform's service-provider account is set up (keys, certificate or public key, notify URL)."""
    conf = current_app.config
    if not all(conf.get(key) for key in REQUIRED):
        return False
    return bool(conf.get("WECHATPAY_PLATFORM_CERT_DIR") or
                (conf.get("WECHATPAY_PUBLIC_KEY") and conf.get("WECHATPAY_PUBLIC_KEY_ID")))


def available_for(company) -> bool:
    """Owners of ``company`` can pay online: the platform is set up and the company is a sub-merchant."""
    return configured() and bool(company is not None and company.wechat_sub_mchid)


def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def notify_url() -> str:
    return current_app.config["WECHATPAY_NOTIFY_URL"].rstrip("/") + "/wechatpay/notify"


def client():
    """The platform's wechatpayv3 client in service-provider mode (one per configuration, kept)."""
    conf = current_app.config
    if not configured():
        raise WeChatPayError(_l("Online payment is not available. Please pay at the property office."))
    try:
        return _client(conf["WECHATPAY_SP_MCHID"], conf["WECHATPAY_SP_APPID"], conf["WECHATPAY_PRIVATE_KEY"],
                       conf["WECHATPAY_CERT_SERIAL_NO"], conf["WECHATPAY_APIV3_KEY"], notify_url(),
                       conf.get("WECHATPAY_PLATFORM_CERT_DIR") or None, conf.get("WECHATPAY_PUBLIC_KEY") or None,
                       conf.get("WECHATPAY_PUBLIC_KEY_ID") or None, conf.get("WECHATPAY_API_BASE") or None)
    except Exception as exc:  # an unreadable key file, no platform certificate: the package raises plain Exception
        log.error("WeChat Pay client could not be set up: %s", exc)
        raise WeChatPayError(_l("WeChat Pay could not be reached. Please try again in a moment.")) from exc


@lru_cache(maxsize=4)
def _client(mchid, appid, key_path, serial_no, apiv3_key, notify, cert_dir, public_key_path, public_key_id,
            api_base):
    from wechatpayv3 import WeChatPay, WeChatPayType

    pay = WeChatPay(wechatpay_type=WeChatPayType.NATIVE, mchid=mchid, private_key=_read(key_path),
                    cert_serial_no=serial_no, appid=appid, apiv3_key=apiv3_key, notify_url=notify,
                    cert_dir=cert_dir, partner_mode=True, timeout=TIMEOUT, logger=log,
                    public_key=_read(public_key_path) if public_key_path else None,
                    public_key_id=public_key_id if public_key_path else None)
    if api_base:  # tests: the local fake (its platform certificate is already in cert_dir, or its public key given)
        pay._core._gate_way = api_base.rstrip("/")
    return pay


def reset_client() -> None:
    """Forget the kept client (tests change the configuration)."""
    _client.cache_clear()


def _call(what: str, func, *args, **kwargs) -> dict:
    """Run one API call; WeChat's JSON answer, or WeChatPayError with a message for a person."""
    try:
        code, body = func(*args, **kwargs)
    except Exception as exc:  # network errors, a bad signature on the answer: the package raises plain Exception
        log.warning("WeChat Pay %s failed: %s", what, exc)
        raise WeChatPayError(_l("WeChat Pay could not be reached. Please try again in a moment.")) from exc
    try:
        data = json.loads(body) if body else {}
    except (TypeError, ValueError):
        data = {}
    if not 200 <= code < 300:
        log.warning("WeChat Pay %s answered %s: %s", what, code, data)
        error = WeChatPayError(_l("WeChat Pay refused the request (%(code)s). Please try again later or pay at "
                                  "the property office.", code=data.get("code") or code))
        error.status = code
        error.wechat_code = data.get("code")
        raise error
    return data


def _expire(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds")


def create_native(sub_mchid: str, out_trade_no: str, description: str, amount_fen: int, expires_at: datetime,
                  attach: str = "") -> str:
    """A Native order; returns its ``code_url`` (the content of the QR the payer scans)."""
    from wechatpayv3 import WeChatPayType

    data = _call("native order", client().pay, description=description[:127], out_trade_no=out_trade_no,
                 amount={"total": amount_fen, "currency": "CNY"}, time_expire=_expire(expires_at),
                 attach=attach or None, sub_mchid=sub_mchid, pay_type=WeChatPayType.NATIVE)
    if not data.get("code_url"):
        raise WeChatPayError(_l("WeChat Pay did not return a payment code. Please try again."))
    return data["code_url"]


def create_h5(sub_mchid: str, out_trade_no: str, description: str, amount_fen: int, expires_at: datetime,
              client_ip: str, attach: str = "") -> str:
    """An H5 order for a phone browser; returns its ``h5_url`` (the payer's browser opens it)."""
    from wechatpayv3 import WeChatPayType

    data = _call("h5 order", client().pay, description=description[:127], out_trade_no=out_trade_no,
                 amount={"total": amount_fen, "currency": "CNY"}, time_expire=_expire(expires_at),
                 attach=attach or None, sub_mchid=sub_mchid, pay_type=WeChatPayType.H5,
                 scene_info={"payer_client_ip": client_ip or "127.0.0.1", "h5_info": {"type": "Wap"}})
    if not data.get("h5_url"):
        raise WeChatPayError(_l("WeChat Pay did not return a payment link. Please try again."))
    return data["h5_url"]


def query(sub_mchid: str, out_trade_no: str) -> dict:
    """What WeChat knows of an order: trade_state, transaction_id, success_time, amount…"""
    return _call("query", client().query, out_trade_no=out_trade_no, sub_mchid=sub_mchid)


def close(sub_mchid: str, out_trade_no: str) -> None:
    """Close an unpaid order so it can no longer be paid (WeChat answers 204)."""
    _call("close", client().close, out_trade_no=out_trade_no, sub_mchid=sub_mchid)


def refund(sub_mchid: str, *, out_trade_no: str, out_refund_no: str, amount_fen: int, total_fen: int,
           reason: str) -> dict:
    """Ask WeChat to give back ``amount_fen`` of the order (partial refunds allowed, up to the order's total)."""
    return _call("refund", client().refund, out_refund_no=out_refund_no, out_trade_no=out_trade_no,
                 amount={"refund": amount_fen, "total": total_fen, "currency": "CNY"}, reason=reason[:80] or None,
                 notify_url=notify_url(), sub_mchid=sub_mchid)


def query_refund(sub_mchid: str, out_refund_no: str) -> dict:
    return _call("refund query", client().query_refund, out_refund_no=out_refund_no, sub_mchid=sub_mchid)


def parse_callback(headers, body: bytes) -> dict:
    """Verify a callback's signature headers and decrypt its resource; returns the notice with ``resource``
    decrypted (a dict). Raises CallbackRejected for anything that is not a genuine, recent WeChat notice."""
    if not configured():
        raise CallbackRejected("WeChat Pay is not configured")
    try:
        stamp = int(headers.get("Wechatpay-Timestamp", ""))
    except ValueError:
        raise CallbackRejected("no timestamp") from None
    if abs(time.time() - stamp) > CALLBACK_MAX_AGE:
        raise CallbackRejected("timestamp too old or in the future")
    plain = {key: headers.get(key, "") for key in ("Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce",
                                                   "Wechatpay-Serial", "Wechatpay-Signature-Type")}
    plain["Wechatpay-Signature-Type"] = plain["Wechatpay-Signature-Type"] or "WECHATPAY2-SHA256-RSA2048"
    try:
        notice = client().callback(plain, body.decode("utf-8"))
    except Exception as exc:  # the package raises plain Exception for an unknown algorithm, bad JSON…
        raise CallbackRejected(f"unreadable: {exc}") from exc
    if not notice or not isinstance(notice.get("resource"), dict):
        raise CallbackRejected("bad signature or resource")
    return notice
