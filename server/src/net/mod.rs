//! What every listener needs below HTTP and RTMP: connection ceilings ([`admission`]).

pub mod admission;
