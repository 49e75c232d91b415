"""Schemathesis hooks for test/contract/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS)."""

import uuid

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    """Each write carries a new Idempotency-Key, as the document asks of clients.

    The generator repeats values across operations (the coverage phase sends "0" everywhere), and
    the API refuses a key already used with another request (422): a rule about earlier requests,
    not about this one's data. A key that is itself invalid (empty, longer than 255) is left as
    generated, so negative cases of the header stay negative.
    """
    headers = case.headers or {}
    for name in list(headers):
        value = headers[name]
        if name.lower() == "idempotency-key" and isinstance(value, str) and 1 <= len(value) <= 255:
            headers[name] = str(uuid.uuid4())
