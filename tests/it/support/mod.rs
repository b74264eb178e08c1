//! Shared test helpers: a real MongoDB wire-protocol server, a local HTTP server, and
//! editable copies of the replay fixtures.
#![allow(dead_code)]

pub mod http_server;
pub mod mongo;
pub mod replay;
