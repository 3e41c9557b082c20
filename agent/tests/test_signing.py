"""Job signatures as in docs/agent-protocol.md."""

import hashlib
import hmac

from qingka_agent.signing import sign, signing_key, verify

KEY = signing_key("token-a")


def test_key_and_signature_follow_the_protocol():
    assert KEY == hashlib.sha256(b"qingka-job-signing:token-a").digest()
    assert sign(KEY, 7, 1) == hmac.new(KEY, b"7:1", hashlib.sha256).hexdigest()


def test_good_signature():
    assert verify(KEY, 7, 1, sign(KEY, 7, 1))


def test_bad_signatures():
    good = sign(KEY, 7, 1)
    assert not verify(KEY, 7, 2, good)
    assert not verify(KEY, 8, 1, good)
    assert not verify(KEY, 7, 1, good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert not verify(KEY, 7, 1, "")
    assert not verify(KEY, 7, 1, "签名")
    assert not verify(KEY, 7, 1, None)


def test_another_agents_key():
    assert not verify(KEY, 7, 1, sign(signing_key("token-b"), 7, 1))
