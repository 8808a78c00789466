//! Integration tests: the shipped scripts run by the real `udpsh` binary against UDP peers on
//! loopback — peers written here in Rust, and the seed programs themselves (Python 3 ports in
//! fixtures/seeds/) when python3 exists. Ports are always picked by the OS.

mod support;

mod broadcast;
mod capture;
mod chat;
mod echo;
mod errors;
mod netns;
mod proxy;
mod replay;
mod scenarios;
mod send_receive;
mod suite;
mod upload;
