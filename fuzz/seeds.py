#!/usr/bin/env python3
"""Writes the hand-made seed corpus in fuzz/corpus/<target>/.

Input layouts are documented in testkit/src/fuzz.rs. Re-run after
changing a layout; `cargo test -p proto-core` replays every file written here.
Crash inputs are added to the corpus by hand (named crash-*) and kept.
"""

import pathlib
import struct

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"

# Length-field shape byte: width index (U8, U16, U24, U32, U64), endian, mode.
U8, U16, U24, U32, U64 = range(5)
LITTLE, FRAME = 0x08, 0x10
# Adjustment selectors.
ADJ0 = 0x00


def adj_small(n):  # -32..=31
    return 0x40 | (n + 32)


def adj_full(n):
    return bytes([0xC0]) + struct.pack("<q", n)


STRIP_DEFAULT = 0x00


def strip(n):  # 0..=63
    return 0x80 | n


STRIP_HUGE = 0xFF  # usize::MAX - 63
MAX_DEFAULT, MAX_UNBOUNDED = 0x60, 0x80


def max_small(n):  # 0..=63
    return n


def chunking(*sizes):
    return bytes([len(sizes) - 1, *sizes])


def buf(read_capacity, retain_capacity):
    return bytes([read_capacity, retain_capacity // 4])


# Round-trip write steps after each encode.
NO_WRITE, POP, FLUSH = 0x00, 0x80, 0xC0


def write(n):  # a vectored write accepting 4 * n bytes, n in 0..=63
    return 0x40 | n


def payloads(*items):
    """(payload, write) or (payload, write, split): split 0 encodes the
    payload whole, n > 0 through encode_parts with its first n - 1 bytes as
    the head."""
    return b"".join(
        bytes([len(p), item[2] if len(item) > 2 else 0]) + p + bytes([w])
        for item in items
        for p, w in [item[:2]]
    )


SEEDS = {
    "decode_length_field": {
        # netty(): two frames, read 3 bytes at a time.
        "netty": bytes([0, U32, ADJ0, STRIP_DEFAULT, MAX_DEFAULT])
        + chunking(3)
        + buf(16, 32)
        + b"\0\0\0\x02hi\0\0\0\x03yo!",
        # laster40net(): little-endian, then a truncated frame.
        "laster40net": bytes([0, U32 | LITTLE, ADJ0, STRIP_DEFAULT, MAX_DEFAULT])
        + chunking(1, 0, 7)
        + buf(4, 8)
        + b"\x05\0\0\0hello\x05\0\0",
        # [type][len: u16, whole frame][body], max 16: a frame, an oversized
        # frame skipped, then a frame after the resync.
        "frame_mode_resync": bytes([1, U16 | FRAME, ADJ0, STRIP_DEFAULT, max_small(16)])
        + chunking(5, 2)
        + buf(8, 16)
        + b"\x07\x00\x05ab"
        + b"\x07\x00\x20"
        + b"z" * 29
        + b"\x01\x00\x04z",
        "negative_length": bytes([0, U8, adj_small(-32), STRIP_DEFAULT, MAX_DEFAULT])
        + chunking(255)
        + buf(8, 8)
        + b"\x05abc",
        "strip_exceeds_frame": bytes([0, U8, ADJ0, strip(10), MAX_DEFAULT])
        + chunking(1)
        + buf(8, 8)
        + b"\x02ab",
        "u24_le_adjusted": bytes([2, U24 | LITTLE, adj_small(-1), strip(0), max_small(40)])
        + chunking(2, 9)
        + buf(0, 0)
        + b"\xAA\xBB\x04\x00\x00abc"
        + b"\xCC\xDD\x01\x00\x00",
        # wire length past usize::MAX while the delivered length fits.
        "u64_past_usize": bytes([0, U64])
        + adj_full(2**63 - 1)
        + bytes([STRIP_HUGE, MAX_UNBOUNDED])
        + chunking(4)
        + buf(8, 8)
        + b"\xff" * 8
        + b"tail",
        "huge_offset": bytes([0xF5, U32, ADJ0, STRIP_DEFAULT, MAX_DEFAULT])
        + chunking(3)
        + buf(8, 8)
        + b"\0\0\0\x01x",
    },
    "decode_line": {
        "crlf_and_tail": bytes([0x70]) + chunking(4) + buf(8, 16) + b"one\r\ntwo\nthree\r",
        "utf8": bytes([0x80 | 0x70]) + chunking(1, 3) + buf(8, 8) + "héllo\n".encode() + b"\xff\xfe\nok\n",
        "max_5": bytes([5])
        + chunking(1, 3)
        + buf(4, 8)
        + b"12345\n123456\nabcdefghij\r\nxy\r\n12345\r",
        "max_0": bytes([0]) + chunking(0, 2) + buf(0, 0) + b"\n\r\n\n x",
        "max_2_cr": bytes([2]) + chunking(2) + buf(2, 4) + b"ab\r\r\nab\r\nab\r",
    },
    "decode_raw": {
        "reads": chunking(3, 0, 1) + buf(2, 4) + b"raw bytes pass through",
        "empty_reads": chunking(0) + buf(0, 0) + b"x",
    },
    "round_trip": {
        # Length field: [kind 0][offset][shape][adj][max][use prefix][prefix],
        # then [chunking][buf][copy limit] and [len][split][payload][write]...
        "length_default": bytes([0, 0, U32, ADJ0, MAX_DEFAULT, 0])
        + chunking(7)
        + buf(32, 16)
        + bytes([4])
        + payloads((b"hello", write(3)), (b"", POP), (b"x", NO_WRITE), (b"y" * 200, POP, 3), (b"z", POP)),
        "length_prefix_frame_mode": bytes([0, 2, U16 | LITTLE | FRAME, adj_small(2), max_small(16), 1])
        + b"\xAB\xCD"
        + chunking(1, 5)
        + buf(8, 8)
        + bytes([0])
        + payloads((b"abc", NO_WRITE, 2), (b"q" * 17, write(1)), (b"r" * 16, FLUSH)),
        "length_u8_negative_adjust": bytes([0, 0, U8, adj_small(-3), max_small(63), 0])
        + chunking(2)
        + buf(8, 8)
        + bytes([255])
        + payloads((b"", NO_WRITE), (b"ab", write(0)), (b"s" * 63, write(20))),
        "line": bytes([1, 5])
        + chunking(3)
        + buf(4, 4)
        + bytes([8])
        + payloads(
            (b"abc", POP),
            (b"abcdef", NO_WRITE),
            (b"a\nb", NO_WRITE, 2),
            (b"", POP),
            (b"ab\r", NO_WRITE, 3),
        ),
        "line_utf8": bytes([1, 0x80 | 0x70])
        + chunking(1, 2)
        + buf(8, 8)
        + bytes([8])
        + payloads(("héllo".encode(), write(1)), (b"\xff\xfe", NO_WRITE), (b"w" * 9, FLUSH)),
        "raw": bytes([2])
        + chunking(2, 0)
        + buf(4, 4)
        + bytes([1])
        + payloads((b"abc", write(1), 2), (b"", POP), (b"de", NO_WRITE)),
        # A header with an empty payload was queued as an empty chunk.
        "crash-wire-empty-payload-chunk": bytes([0, 0, U32, ADJ0, MAX_DEFAULT, 0])
        + chunking(1)
        + buf(8, 8)
        + bytes([16])
        + payloads((b"", FLUSH)),
    },
}


# Session operations (testkit/src/fuzz/session.rs): op % 16 (the first ten here).
PEER_BYTES, PEER_FRAME, SEND, SLEEP, NEXT_DEADLINE, WRITE, CLOSE, ABORT, EOF, IO_ERROR = range(10)


def session(config, *ops):
    return bytes(config) + b"".join(bytes(op) for op in ops)


def sleep(ms):
    return [SLEEP] + list(struct.pack("<H", ms))


def write_n(n):
    return [WRITE] + list(struct.pack("<H", n))


SEEDS["session_ops"] = {
    # Queue of 4 messages / 400 bytes, batch 16, no heartbeat, timeouts on.
    "sends_writes_close": session(
        [4, 100, 15, 0, 0, 20],
        [SEND, 0, 10], [SEND, 1, 3], [SEND, 2, 5], [SEND, 5, 5], [SEND, 0, 10],
        write_n(7), [PEER_FRAME, 3, 0x61, 0x62, 0x63], write_n(100),
        [CLOSE], write_n(100), [SEND, 0, 1],
    ),
    # Heartbeats on: pings, pongs, a timeout.
    "heartbeat": session(
        [8, 255, 63, 0x07, 0x04, 10],
        [NEXT_DEADLINE], write_n(50), [PEER_FRAME, 1, 0], [PEER_BYTES, 5, 1, 0, 0, 0, 1],
        [NEXT_DEADLINE], [NEXT_DEADLINE], [NEXT_DEADLINE],
    ),
    # A trickled frame against the frame deadline, then end of stream.
    "trickle_eof": session(
        [2, 10, 0, 0, 0, 5],
        [PEER_BYTES, 1, 9], sleep(5), [PEER_BYTES, 1, 0], sleep(5), [PEER_BYTES, 1, 0],
        [EOF], [NEXT_DEADLINE],
    ),
    # Bad frames skipped (max_skipped_frames 2, codec max 64): two
    # oversized frames skipped around a good one, the third closes.
    "skip_bad_frames": session(
        [4, 100, 0, 0, 0x28, 20],
        [PEER_BYTES, 4, 0x50, 0, 0, 0], [PEER_BYTES, 80] + [0x7A] * 80,
        [PEER_FRAME, 2, 0x61, 0x62], [PEER_BYTES, 6, 0x41, 0, 0, 0, 1, 2],
        [PEER_BYTES, 63] + [0x7A] * 63, [PEER_BYTES, 4, 0x41, 0, 0, 0], [PEER_FRAME, 1, 0x63],
    ),
    "abort_then_everything": session(
        [1, 1, 1, 1, 1, 1],
        [SEND, 1, 200], [ABORT], [SEND, 0, 1], [PEER_FRAME, 2, 1, 2], write_n(9), [IO_ERROR],
        [CLOSE], [EOF], sleep(1000),
    ),
}


# Driver operations (testkit/src/fuzz/driver.rs): op % 16.
(OPEN, PEER_FRAME_D, PEER_BYTES_D, PEER_EOF, READ_ERROR, WRITE_MODE, TIME, SEND_HANDLE, SEND_HUB,
 BROADCAST, GROUP, CLOSE_D, HUB_WIDE, READ_EVENTS, DROP_OR_START, POLL_ONE) = range(16)
# Open flags.
HANDLER, UNOPENED, HELD = 0x01, 0x08, 0x10
# Write modes.
W_ALL, W_REFUSE, W_FAIL, W_ZERO = 0, 2, 3, 4


def w_partial(n):  # at most n bytes per write, n in 1..=51
    return 1 + 5 * (n - 1)


def driver(config, *ops):
    return bytes(config) + b"".join(bytes(op) for op in ops)


def time(ms):  # 0: to the earliest armed deadline
    return [TIME] + list(struct.pack("<H", ms))


SEEDS["driver_ops"] = {
    # Two sessions, queue 4 / 400 bytes, no timeouts, events capacity 2:
    # frames both ways under partial writes, a broadcast to a group, close.
    "echo_partial_writes": driver(
        [4, 100, 15, 0, 0x03, 20, 0x03, 1],
        [OPEN, 0], [OPEN, 2], [GROUP, 0, 0], [GROUP, 1, 0],
        [PEER_FRAME_D, 0, 3, 0x61, 0x62, 0x63], [PEER_FRAME_D, 1, 1, 0x7A],
        [WRITE_MODE, 0, w_partial(3)], [SEND_HANDLE, 0, 0, 10], [SEND_HUB, 1, 5],
        [BROADCAST, 1, 8], [READ_EVENTS, 2], [SEND_HANDLE, 0, 3, 2], [READ_EVENTS, 0],
        [CLOSE_D, 0, 0], [WRITE_MODE, 0, W_ALL], [READ_EVENTS, 0], [CLOSE_D, 1, 2],
    ),
    # Heartbeats on, half close on: pings, end of stream, a reply, timeouts.
    "heartbeat_half_close": driver(
        [8, 255, 63, 0x07, 0x04, 10, 0x00, 3],
        [OPEN, 0], time(0), [PEER_FRAME_D, 0, 0x80], time(0), [PEER_FRAME_D, 0, 2, 1, 2],
        [PEER_EOF, 0], [READ_EVENTS, 0], [SEND_HANDLE, 0, 1, 4], [CLOSE_D, 0, 0],
        time(0), time(0), [READ_EVENTS, 0],
    ),
    # Refused then failing writes, a read error, a trickled frame against
    # the frame deadline, a driver dropped mid-way, a held Conn dropped.
    "faults_and_drops": driver(
        [2, 10, 0, 0, 0x01, 5, 0x0B, 0],
        [OPEN, 0], [OPEN, 2], [OPEN, HELD | 4], [OPEN, UNOPENED | 6],
        [WRITE_MODE, 0, W_REFUSE], [SEND_HANDLE, 0, 0, 30], [SEND_HANDLE, 0, 0, 30],
        [SEND_HANDLE, 0, 2, 30], [WRITE_MODE, 0, W_FAIL], [POLL_ONE, 0],
        [PEER_BYTES_D, 1, 2, 9, 0], time(20), [READ_ERROR, 1],
        [SEND_HUB, 1, 3], [WRITE_MODE, 1, W_ZERO], [DROP_OR_START, 1], [DROP_OR_START, 2],
        [PEER_BYTES_D, 0, 4, 0xFF, 0xFF, 0xFF, 0xFF],
    ),
    # A handler session and a stream session; shutdown, then abort_all.
    "handler_shutdown": driver(
        [3, 50, 7, 0, 0x03, 50, 0x08, 0],
        [OPEN, HANDLER], [OPEN, 2], [PEER_FRAME_D, 0, 2, 0x68, 0x69], [PEER_FRAME_D, 1, 1, 0x21],
        [WRITE_MODE, 0, w_partial(2)], [BROADCAST, 0, 6], [HUB_WIDE, 1], [OPEN, 0],
        [READ_EVENTS, 1], time(10), [HUB_WIDE, 0], [READ_EVENTS, 0],
    ),
}


def main():
    for target, seeds in SEEDS.items():
        directory = CORPUS / target
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (directory / name).write_bytes(data)


if __name__ == "__main__":
    main()
