//! Several real `bookmygig-server` processes sharing one real redis-server: a cluster.

use super::ServerProcess;
use bookmygig_testkit::RedisServer;

/// N server processes on one private redis-server; node `i` can be killed and restarted.
pub struct ClusterNodes {
    redis: RedisServer,
    extra: Vec<String>,
    nodes: Vec<Option<ServerProcess>>,
}

impl ClusterNodes {
    /// Starts `count` nodes, each with only `--redis-url`, its own ports, and `extra` flags.
    pub fn start(count: usize, extra: &[&str]) -> Self {
        let redis = RedisServer::start();
        let mut cluster = ClusterNodes {
            redis,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            nodes: Vec::new(),
        };
        for _ in 0..count {
            let node = cluster.spawn_node();
            cluster.nodes.push(Some(node));
        }
        cluster
    }

    fn spawn_node(&self) -> ServerProcess {
        let url = self.redis.url();
        let mut args = vec!["--redis-url", url.as_str()];
        args.extend(self.extra.iter().map(String::as_str));
        ServerProcess::spawn(&args, &[])
    }

    /// Node `index`; panics when it was killed.
    pub fn node(&self, index: usize) -> &ServerProcess {
        self.nodes[index].as_ref().expect("the node is running")
    }

    /// The redis-server they share.
    pub fn redis(&self) -> &RedisServer {
        &self.redis
    }

    /// SIGKILLs node `index`: no goodbye reaches Redis or the other nodes.
    pub fn kill(&mut self, index: usize) {
        if let Some(node) = self.nodes[index].take() {
            node.kill();
        }
    }

    /// Starts a fresh process in node `index`'s place (new ports, new node id).
    pub fn restart(&mut self, index: usize) {
        self.kill(index);
        let node = self.spawn_node();
        self.nodes[index] = Some(node);
    }
}
