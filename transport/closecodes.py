"""WebSocket close codes by their RFC 6455 §7.4.1 names, and what each means on this wire.

The table ``EXPLANATIONS`` is the one place that documents which condition closes a connection with which code.
"""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    """RFC 6455 close codes (plus 1012/1013 from the IANA registry)."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RCVD = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_FRAME_PAYLOAD_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013


EXPLANATIONS: dict[CloseCode, str] = {
    CloseCode.NORMAL_CLOSURE: "the peer closed normally; also sent to an old socket replaced by a reconnect",
    CloseCode.GOING_AWAY: "graceful server shutdown: outbound queues were drained first",
    CloseCode.PROTOCOL_ERROR: (
        "WebSocket framing error (bad opcode, unmasked client frame, bad continuation, reserved bits set)"
    ),
    CloseCode.UNSUPPORTED_DATA: "a binary frame: this wire carries one UTF-8 JSON-RPC message per text frame (SEP-1288)",
    CloseCode.INVALID_FRAME_PAYLOAD_DATA: "a text frame that is not valid UTF-8",
    CloseCode.POLICY_VIOLATION: "slow consumer: the client stayed behind its outbound queue limit past the grace period",
    CloseCode.MESSAGE_TOO_BIG: "a message (or a single frame) over the configured max_message_bytes",
    CloseCode.INTERNAL_ERROR: "an unexpected server error on this connection (other connections are unaffected)",
    CloseCode.TRY_AGAIN_LATER: "the server is at its connection limit",
}
