//! Shared test helpers: a real MongoDB wire-protocol server and a local HTTP server.
#![allow(dead_code)]
pub mod http_server;
pub mod mongo;
pub mod replay;
