//! The four sockets a server serves, bound from the configuration or on free loopback ports.

use tokio::net::TcpListener;

use crate::Config;

/// The sockets a server serves.
pub struct Listeners {
    /// HTTP: API, FLV, WebSocket.
    pub http: TcpListener,
    /// RTMP ingest and play.
    pub rtmp: TcpListener,
    /// Private: Prometheus metrics.
    pub metrics: TcpListener,
    /// Private: other nodes' stream relays.
    pub internal: TcpListener,
}

impl Listeners {
    /// Binds the addresses the configuration names.
    ///
    /// # Errors
    /// When an address cannot be bound.
    pub async fn bind(config: &Config) -> Result<Self, crate::ServerError> {
        Ok(Listeners {
            http: TcpListener::bind(config.http).await?,
            rtmp: TcpListener::bind(config.rtmp).await?,
            metrics: TcpListener::bind(config.metrics_addr).await?,
            internal: TcpListener::bind(config.internal_addr).await?,
        })
    }

    /// Binds all four on free loopback ports (tests, several servers on one machine).
    ///
    /// # Errors
    /// When the ports cannot be bound.
    pub async fn loopback() -> Result<Self, crate::ServerError> {
        let any = || TcpListener::bind("127.0.0.1:0");
        Ok(Listeners {
            http: any().await?,
            rtmp: any().await?,
            metrics: any().await?,
            internal: any().await?,
        })
    }
}
