//! Upstream proxies: the configured socks5 proxy really carries the traffic.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::*;
use crate::mock_upstream::*;

/// A minimal SOCKS5 proxy (no auth, CONNECT only) that counts the
/// connections it relays.
async fn start_socks5() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let relayed = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&relayed);
    tokio::spawn(async move {
        loop {
            let (client, _) = listener.accept().await.unwrap();
            let count = Arc::clone(&count);
            tokio::spawn(async move {
                if let Ok(target) = socks5_handshake(client).await {
                    count.fetch_add(1, Ordering::SeqCst);
                    let (mut client, mut upstream) = target;
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (addr, relayed)
}

async fn socks5_handshake(mut client: TcpStream) -> std::io::Result<(TcpStream, TcpStream)> {
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await?;
    let mut methods = vec![0u8; head[1] as usize];
    client.read_exact(&mut methods).await?;
    client.write_all(&[5, 0]).await?;
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await?;
    assert_eq!(&request[..2], &[5, 1], "SOCKS5 CONNECT");
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            Ipv4Addr::from(ip).to_string()
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await?;
            Ipv6Addr::from(ip).to_string()
        }
        _ => {
            let len = client.read_u8().await? as usize;
            let mut name = vec![0u8; len];
            client.read_exact(&mut name).await?;
            String::from_utf8(name).unwrap()
        }
    };
    let port = client.read_u16().await?;
    let upstream = TcpStream::connect((host.as_str(), port)).await?;
    client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
    Ok((client, upstream))
}

#[tokio::test]
async fn socks5_proxy_from_the_config_carries_upstream_traffic() {
    let mock = MockUpstream::start().await;
    let (proxy, relayed) = start_socks5().await;
    let toml = format!(
        r#"
proxy = "socks5://{proxy}"

[providers.deepseek]
proxy = "none"
"#
    );
    let gateway = Setup::on(&mock).config(&toml).start().await;

    let response = gateway.chat(&chat_body("gpt-4.1", true)).await;
    assert_eq!(response.status(), 200);
    assert!(read_text(response).await.ends_with(SSE_DONE));
    assert_eq!(
        relayed.load(Ordering::SeqCst),
        1,
        "openai goes through the global proxy"
    );

    let response = gateway.chat(&chat_body("deepseek-chat", false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        relayed.load(Ordering::SeqCst),
        1,
        "deepseek is set to connect directly"
    );
    assert_eq!(mock.hits(), 2);
}

#[tokio::test]
async fn a_per_provider_proxy_overrides_the_environment() {
    let mock = MockUpstream::start().await;
    let (proxy, relayed) = start_socks5().await;
    let toml = format!("[providers.qwen]\nproxy = \"socks5h://{proxy}\"\n");
    let gateway = Setup::on(&mock)
        .env("LLM_BRIDGE_PROXY", "socks5://127.0.0.1:9")
        .config(&toml)
        .start()
        .await;
    let response = gateway.chat(&chat_body("qwen-plus", false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(relayed.load(Ordering::SeqCst), 1);
    // Everyone else uses LLM_BRIDGE_PROXY, which points at a closed port.
    let response = gateway.chat(&chat_body("gpt-4.1", false)).await;
    expect_error(response, 502, "upstream_unreachable").await;
}
