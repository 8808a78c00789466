//! Integration tests: the shipped scripts run by the real `udpsh` binary against UDP peers on
//! loopback — peers written here in Rust, and the seed programs themselves (Python 3 ports in
//! fixtures/seeds/) when python3 exists — and the REPL in a pseudo-terminal. Ports are always
//! picked by the OS. One test binary; every module starts udpsh with `support::Udpsh`.

mod support;

mod binary;
mod broadcast;
mod capture;
mod cases;
mod chat;
mod coap_interop;
mod crypto;
mod echo;
mod errors;
mod fuzz;
mod hardening;
mod hostile_text;
mod limits;
mod load;
mod loadtest;
mod memory;
mod modules;
mod multicast;
mod netns;
mod one_path;
mod outputs;
mod positions;
mod process;
mod protocol_options;
mod protocols;
mod proxy;
mod readme;
mod repl;
mod replay;
mod scenarios;
mod send_receive;
mod services;
mod sockets;
mod stops;
mod suite;
mod upload;
mod wireshark;
