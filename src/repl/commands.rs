//! The meta-commands (lines that start with `:`) and what each does: the one table that
//! `:help`, completion and the did-you-mean of a mistyped command read.

pub const COMMANDS: &[&str] = &[
    ":help", ":sockets", ":vars", ":watch", ":unwatch", ":jobs", ":stop", ":pcap", ":save",
    ":save!", ":quit",
];

/// Each meta-command and what it does, for `:help`.
pub const HELP: &[(&str, &str)] = &[
    (
        ":help [NAME|TOPIC|WORD]",
        "this; one function; a topic; or a search",
    ),
    (":sockets", "open sockets, their addresses and options"),
    (":vars", "variables in scope and functions defined"),
    (
        ":watch s [compact]",
        "print s's datagrams above the prompt as they arrive (s.watch(|d| ...) formats them); \
         an input of its own, like s.watch()",
    ),
    (
        ":unwatch [s]",
        "stop watching s (or every socket); an input, like s.unwatch()",
    ),
    (
        ":jobs",
        "spawned threads (and other background work), numbered",
    ),
    (":stop N", "cancel job N of :jobs"),
    (
        ":pcap FILE / :pcap off",
        "record every datagram from now on (.pcapng or .pcap)",
    ),
    (
        ":save FILE",
        "the session as a script for `udpsh run FILE` (never over an existing file: \
         :save! FILE replaces it). Of an input that failed, the statements that ran before \
         the failure are kept and the rest is a comment",
    ),
    (":quit", "leave (or Ctrl-D, or exit())"),
];
