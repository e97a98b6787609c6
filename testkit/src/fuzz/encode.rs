//! The fuzz inputs written back as the bytes `arbitrary` reads them from,
//! so that the seeds of `fuzz/corpus/` are built as typed values
//! ([`seeds`](super::seeds)). The tests check, for every seed, that
//! decoding the bytes gives the value back.
//!
//! What `arbitrary` (1.x) reads: integers little endian, `bool` as a
//! byte's low bit, an enum's variant as a `u32` scaled to the variant
//! count, `Option` as a `bool` then the value, each element of a `Vec` after
//! a `true` byte (a `false` byte or the end of the input ends it), a
//! struct's fields in order; the last field of the whole input takes the
//! rest of it ([`Blob`]: every byte left).

use super::driver::{
    CloseHow, DriverOp, DriverOps, DriverSetup, HandleSend, OpenFlags, Target, Writes,
};
use super::input::{
    Adjustment, Blob, BufConfig, Chunking, DecodeLengthField, DecodeLine, DecodeRaw, LengthInput,
    LineInput, LineMax, MaxLen, Offset, Payload, Prefix, RoundTrip, RoundTripCodec, Strip, Width,
    WriteStep,
};
use super::rate::{RateOp, RateOps, RateStep};
use super::session::{Beat, Marks, Policy, RateSetup, SessionOp, SessionOps, SessionSetup, Timing};
use super::ws::{WsFrames, WsHandshake};

/// A value written as `arbitrary` reads it.
pub trait Encode {
    /// Appends the bytes `arbitrary` reads this value from.
    fn encode(&self, out: &mut Vec<u8>);

    /// Appends the bytes `arbitrary_take_rest` reads this value from (as
    /// the last field of an input).
    fn encode_last(&self, out: &mut Vec<u8>) {
        self.encode(out);
    }

    /// The whole input for this value.
    fn to_fuzz_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_last(&mut out);
        out
    }
}

macro_rules! le_bytes {
    ($($ty:ty),*) => {$(
        impl Encode for $ty {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
le_bytes!(u8, i8, u16, u32, i64);

impl Encode for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.is_some().encode(out);
        if let Some(value) = self {
            value.encode(out);
        }
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        for item in self {
            true.encode(out);
            item.encode(out);
        }
        false.encode(out);
    }

    fn encode_last(&self, out: &mut Vec<u8>) {
        for item in self {
            true.encode(out);
            item.encode(out);
        }
    }
}

impl Encode for Blob {
    /// # Panics
    /// Past 255 bytes (a length byte says how many).
    fn encode(&self, out: &mut Vec<u8>) {
        u8::try_from(self.0.len())
            .expect("a blob inside an input holds at most 255 bytes")
            .encode(out);
        out.extend_from_slice(&self.0);
    }

    fn encode_last(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

/// Variant `index` of `count`, as the derive reads it: the `u32` whose
/// `(x * count) >> 32` is `index`.
fn variant(out: &mut Vec<u8>, index: u64, count: u64) {
    let x = (index << 32).div_ceil(count);
    u32::try_from(x)
        .expect("a variant index is below the count")
        .encode(out);
}

/// A struct: its fields in order, the last one as the last of the input
/// when the struct is.
macro_rules! fields {
    ($ty:ty { $($field:ident),* ; $last:ident }) => {
        impl Encode for $ty {
            fn encode(&self, out: &mut Vec<u8>) {
                $(self.$field.encode(out);)*
                self.$last.encode(out);
            }

            fn encode_last(&self, out: &mut Vec<u8>) {
                $(self.$field.encode(out);)*
                self.$last.encode_last(out);
            }
        }
    };
}

/// An enum: the variant, then its fields (never the last of an input).
macro_rules! variants {
    ($ty:ident { $($variant:ident $(( $($tuple:ident),* ))? $({ $($named:ident),* })?),* $(,)? }) => {
        impl Encode for $ty {
            #[allow(unused_assignments)]
            fn encode(&self, out: &mut Vec<u8>) {
                let count = [$(stringify!($variant)),*].len() as u64;
                let mut index = 0;
                $(
                    #[allow(unused_parens, non_snake_case)]
                    if let $ty::$variant $(( $($tuple),* ))? $({ $($named),* })? = self {
                        variant(out, index, count);
                        $($($tuple.encode(out);)*)?
                        $($($named.encode(out);)*)?
                        return;
                    }
                    index += 1;
                )*
            }
        }
    };
}

impl Encode for Chunking {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }

    fn encode_last(&self, out: &mut Vec<u8>) {
        self.0.encode_last(out);
    }
}

fields!(BufConfig { read_capacity; retain_quarter });
fields!(LengthInput { offset, width, little, frame, adjustment, strip; max });
fields!(LineInput { max; utf8 });
fields!(DecodeLengthField { params, chunking, buf; stream });
fields!(DecodeLine { params, chunking, buf; stream });
fields!(DecodeRaw { chunking, buf; stream });
fields!(Payload { bytes, split; write });
fields!(RoundTrip { codec, chunking, buf, copy_limit; payloads });
fields!(Marks { low, high; scale });
fields!(Beat { interval; timeout });
fields!(Timing { heartbeat, idle_timeout, frame_timeout, close_timeout; half_close });
fields!(SessionSetup {
    max_queue_messages, max_queue_quarter, marks, write_timeout, max_transmit, timing,
    skip_bad_frames; rate
});
fields!(RateSetup { per_second, burst, bytes; policy });
fields!(SessionOps { setup; ops });
fields!(OpenFlags { handler, ip, unopened; held });
fields!(DriverSetup {
    max_queue_messages, queue, max_transmit, backpressure, write_timeout, timing,
    max_sessions, per_ip, event_capacity, memory_budget; budget_disconnect
});
fields!(DriverOps { setup; ops });
fields!(RateOps { per_second, burst; steps });
fields!(RateStep { advance_us, units; op });
variants!(RateOp {
    TryTake,
    Take,
    Check
});
fields!(WsHandshake { client, max_len, chunking; stream });
fields!(WsFrames { max_message, chunking; stream });

variants!(Offset { Near(a), Far(a), Past(a) });
variants!(Width {
    W8,
    W16,
    W24,
    W32,
    W64
});
variants!(Adjustment { Zero, By(a), Edge(a), Exactly(a) });
variants!(Strip { Header, Bytes(a), Huge(a) });
variants!(MaxLen { Tiny(a), Short(a), Standard, Unbounded, Long(a), Mid(a) });
variants!(LineMax { Chars(a), LineDefault, NoLimit });
variants!(Prefix { NoPrefix, Fill(a), Given(a) });
variants!(RoundTripCodec { Length { params, prefix }, Line(a), Raw });
variants!(WriteStep { Hold, Vectored(a), Pop, Drain });
variants!(Policy { Reject, Disconnect, KeepLatest(a) });
variants!(SessionOp {
    PeerBytes(a), PeerFrame(a), Send { policy, len }, Sleep(a), NextDeadline, Write(a), Close,
    Abort, Eof, IoError, ReadBudget(a), WriteNothing, LastWord(a), CloseUntil(a),
});
variants!(Writes { All, Partial(a), Refuse, Fail, Zero });
variants!(HandleSend { Configured, With(a) });
variants!(Target { Everyone, Group(a), One(a) });
variants!(CloseHow { HandleClose, HandleAbort, HubClose, CloseShutdown, LastWord(a) });
variants!(DriverOp {
    Open(a), PeerFrame { s, ping, body }, PeerBytes { s, bytes }, PeerEof(a), ReadError(a),
    WriteMode { s, mode }, Time(a), SendHandle { s, how, len }, SendHub { s, len },
    Broadcast { to, len }, Group { s, b, leave }, Close { s, how }, HubWide(a), ReadEvents(a),
    DropOrStart(a), PollOne(a),
});
