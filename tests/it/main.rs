//! The integration tests, one binary (polars links once): end to end over HTTP against the
//! sandbox's emulators on 127.0.0.1, a real `redis-server`, and the `mpetl` binary itself.

mod common;

mod bad_api;
mod bad_input;
mod bot;
mod cli;
mod crash;
mod datasets;
mod doctor;
mod exit_codes;
mod footers;
mod fuzz;
mod jobs;
mod json_output;
mod limits;
mod marts;
mod money;
mod packaging;
mod pipeline;
mod runs;
mod scans;
mod sellers;
mod state;
mod telegram;
mod upsert;
mod workers;
