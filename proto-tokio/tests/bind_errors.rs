//! Startup errors name the address they are about.

use proto_core::frame::LengthField;
use proto_tokio::{BindError, Server, ServerConfig};

#[tokio::test]
async fn bind_to_an_address_in_use_names_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("an ephemeral port");
    let addr = taken.local_addr().expect("a bound listener has an address");
    let err = Server::bind(addr, LengthField::laster40net(), ServerConfig::default())
        .await
        .expect_err("the port is taken");
    assert!(
        matches!(&err, BindError::Listen { addr: got, source } if *got == addr
            && source.kind() == std::io::ErrorKind::AddrInUse),
        "{err:?}"
    );
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    // Through `?` into an io::Error, the address is still there.
    let io = std::io::Error::from(err);
    assert_eq!(io.kind(), std::io::ErrorKind::AddrInUse);
    assert!(format!("{io:?}").contains(&addr.to_string()), "{io:?}");
}

#[tokio::test]
async fn bind_to_an_invalid_address_names_it() {
    for given in ["not an address", "127.0.0.1:99999"] {
        let err = Server::bind(given, LengthField::laster40net(), ServerConfig::default())
            .await
            .expect_err("no such address");
        assert!(matches!(err, BindError::Resolve { .. }), "{err:?}");
        assert!(err.to_string().contains(given), "{err}");
    }
}
