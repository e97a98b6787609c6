//! One behaviour suite, written once (`behaviours.rs`) over a small
//! [`Runtime`](harness::Runtime) harness (`harness.rs`), run on every
//! runtime: one `#[test]` per (behaviour, runtime), generated below, each
//! on real loopback sockets and under a time limit so that a hang fails.
//! Plus cross-runtime interop (a server on one runtime, clients on
//! another) and wire interop with tokio-util's `LengthDelimitedCodec`.
#![allow(clippy::unwrap_used)]

mod behaviours;
mod connecting;
mod flow;
mod harness;
mod heartbeat;
mod limits;
mod peers;
mod rt_async_std;
mod rt_smol;
mod rt_tokio;
mod tls;

use std::time::Duration;

/// The limit on one behaviour.
const LIMIT: Duration = Duration::from_secs(30);
/// The limit on the bulk echo (1,000,000 frames each way in a debug build).
const BULK_LIMIT: Duration = Duration::from_secs(120);

/// One `#[test]` per behaviour on runtime `$rt`, in module `$name`.
macro_rules! suite {
    ($name:ident, $rt:ty) => {
        mod $name {
            use super::{
                BULK_LIMIT, LIMIT, behaviours as b, connecting, flow, harness::run, heartbeat,
                limits, tls,
            };

            #[test]
            fn echo_100_connections_10_000_frames() {
                run::<$rt, _, _>(BULK_LIMIT, b::echo_many_connections::<$rt>);
            }

            #[test]
            fn admission_max_sessions_at_and_over_limit() {
                run::<$rt, _, _>(LIMIT, limits::admission_max_sessions::<$rt>);
            }

            #[test]
            fn admission_per_ip_at_and_over_limit() {
                run::<$rt, _, _>(LIMIT, limits::admission_per_ip::<$rt>);
            }

            #[test]
            fn admission_connection_rate_at_and_over_burst() {
                run::<$rt, _, _>(LIMIT, limits::admission_connection_rate::<$rt>);
            }

            #[test]
            fn slowloris_closed_at_frame_timeout() {
                run::<$rt, _, _>(LIMIT, limits::slowloris_frame_timeout::<$rt>);
            }

            #[test]
            fn rate_limit_disconnect_at_and_over_burst() {
                run::<$rt, _, _>(LIMIT, limits::rate_limit_disconnect::<$rt>);
            }

            #[test]
            fn rate_limit_pause_holds_reading_loses_nothing() {
                run::<$rt, _, _>(LIMIT, limits::rate_limit_pause::<$rt>);
            }

            #[test]
            fn closes_idle_session_with_idle_timeout() {
                run::<$rt, _, _>(LIMIT, limits::idle_timeout::<$rt>);
            }

            #[test]
            fn disconnects_slow_consumer_others_keep_working() {
                run::<$rt, _, _>(LIMIT, limits::slow_consumer_disconnected::<$rt>);
            }

            #[test]
            fn graceful_shutdown_flushes_every_queued_message() {
                run::<$rt, _, _>(LIMIT, b::graceful_shutdown_flushes::<$rt>);
            }

            #[test]
            fn peer_reset_closes_with_io_error() {
                run::<$rt, _, _>(LIMIT, b::peer_reset::<$rt>);
            }

            #[test]
            fn half_close_still_flushes_replies() {
                run::<$rt, _, _>(LIMIT, b::half_close_flushes_replies::<$rt>);
            }

            #[test]
            fn half_close_request_gets_its_replies() {
                run::<$rt, _, _>(LIMIT, b::half_close_request_gets_its_replies::<$rt>);
            }

            #[test]
            fn heartbeats_keep_live_peers_and_close_silent_ones() {
                run::<$rt, _, _>(
                    LIMIT,
                    heartbeat::heartbeats_keep_live_peers_and_close_silent_ones::<$rt>,
                );
            }

            #[test]
            fn connect_times_out_when_syns_are_dropped() {
                run::<$rt, _, _>(LIMIT, connecting::connect_timeout::<$rt>);
            }

            #[test]
            fn connect_refused_is_an_io_error() {
                run::<$rt, _, _>(LIMIT, connecting::connect_refused::<$rt>);
            }

            #[test]
            fn reconnects_after_server_restart() {
                run::<$rt, _, _>(LIMIT, connecting::reconnects_after_server_restart::<$rt>);
            }

            #[test]
            fn tokio_util_client_to_our_server() {
                run::<$rt, _, _>(LIMIT, b::tokio_util_client_to_our_server::<$rt>);
            }

            #[test]
            fn our_client_to_tokio_util_server() {
                run::<$rt, _, _>(LIMIT, b::our_client_to_tokio_util_server::<$rt>);
            }
            #[test]
            fn our_client_pipelining_large_messages_gets_every_echo() {
                run::<$rt, _, _>(
                    LIMIT,
                    flow::our_client_pipelining_large_messages_gets_every_echo::<$rt>,
                );
            }

            #[test]
            fn pipelined_echo_loses_nothing() {
                run::<$rt, _, _>(LIMIT, flow::pipelined_echo_loses_nothing::<$rt>);
            }

            #[test]
            fn echo_of_maximum_frames_with_default_limits() {
                run::<$rt, _, _>(
                    LIMIT,
                    flow::echo_of_maximum_frames_with_default_limits::<$rt>,
                );
            }

            #[test]
            fn never_reading_clients_are_closed_by_write_stall() {
                run::<$rt, _, _>(
                    LIMIT,
                    flow::never_reading_clients_are_closed_by_write_stall::<$rt>,
                );
            }

            #[test]
            fn half_close_off_clients_get_every_reply() {
                run::<$rt, _, _>(LIMIT, || {
                    flow::half_close_clients_get_every_reply::<$rt>(false)
                });
            }

            #[test]
            fn half_close_on_clients_get_every_reply() {
                run::<$rt, _, _>(LIMIT, || {
                    flow::half_close_clients_get_every_reply::<$rt>(true)
                });
            }

            #[test]
            fn shutdown_grace_is_the_one_deadline() {
                run::<$rt, _, _>(LIMIT, flow::shutdown_grace_is_the_one_deadline::<$rt>);
            }

            #[test]
            fn shutdown_report_counts_exactly() {
                run::<$rt, _, _>(LIMIT, flow::shutdown_report_counts_exactly::<$rt>);
            }

            #[test]
            fn shutdown_stream_ends_after_every_closed() {
                run::<$rt, _, _>(LIMIT, flow::shutdown_stream_ends_after_every_closed::<$rt>);
            }

            #[test]
            fn refused_connection_gets_the_refusal_message() {
                run::<$rt, _, _>(
                    LIMIT,
                    flow::refused_connection_gets_the_refusal_message::<$rt>,
                );
            }

            #[test]
            fn close_after_sends_a_last_word() {
                run::<$rt, _, _>(LIMIT, flow::close_after_sends_a_last_word::<$rt>);
            }

            #[test]
            fn send_async_paces_a_producer() {
                run::<$rt, _, _>(LIMIT, flow::send_async_paces_a_producer::<$rt>);
            }

            #[test]
            fn tls_handshake_and_echo() {
                run::<$rt, _, _>(LIMIT, tls::handshake_and_echo::<$rt>);
            }

            #[test]
            fn tls_wrong_certificate_rejected() {
                run::<$rt, _, _>(LIMIT, tls::wrong_certificate_rejected::<$rt>);
            }

            #[test]
            fn wss_handshake_and_echo() {
                run::<$rt, _, _>(LIMIT, tls::wss_echo::<$rt>);
            }

            #[test]
            fn tls_silent_client_closed_by_idle_timeout() {
                run::<$rt, _, _>(LIMIT, tls::silent_client_closed_by_idle_timeout::<$rt>);
            }
        }
    };
}

suite!(on_tokio, crate::rt_tokio::Tokio);
suite!(on_smol, crate::rt_smol::Smol);
suite!(on_async_std, crate::rt_async_std::AsyncStd);

/// One `#[test]` per (server runtime, client runtime) pair.
macro_rules! interop {
    ($name:ident, server: $server:ty, client: $client:ty) => {
        #[test]
        fn $name() {
            harness::run::<$client, _, _>(LIMIT, behaviours::cross_runtime::<$server, $client>);
        }
    };
}

mod interop {
    use super::{LIMIT, behaviours, harness};
    use crate::rt_async_std::AsyncStd;
    use crate::rt_smol::Smol;
    use crate::rt_tokio::Tokio;

    interop!(smol_server_tokio_client, server: Smol, client: Tokio);
    interop!(tokio_server_async_std_client, server: Tokio, client: AsyncStd);
    interop!(tokio_server_smol_client, server: Tokio, client: Smol);
    interop!(async_std_server_tokio_client, server: AsyncStd, client: Tokio);
    interop!(smol_server_async_std_client, server: Smol, client: AsyncStd);
    interop!(async_std_server_smol_client, server: AsyncStd, client: Smol);
}

/// TLS across adapters: one `#[test]` per (server runtime, client runtime).
mod tls_interop {
    use super::{LIMIT, harness, tls};
    use crate::rt_smol::Smol;
    use crate::rt_tokio::Tokio;

    #[test]
    fn tokio_server_smol_client() {
        harness::run::<Smol, _, _>(LIMIT, tls::cross_runtime::<Tokio, Smol>);
    }

    #[test]
    fn smol_server_tokio_client() {
        harness::run::<Tokio, _, _>(LIMIT, tls::cross_runtime::<Smol, Tokio>);
    }
}
