//! One integration-test binary (one link step on 2 cores), one module per area.
//! Shared helpers live in `support/`.

mod adopt;
mod app_price;
mod architecture;
mod cli;
mod daemon;
mod extract_golden;
mod fetch;
mod localdb;
mod notify;
mod person_edits;
mod pipeline;
mod review;
mod safety;
mod store;
mod support;
