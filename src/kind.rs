//! What went wrong: the one list of error kinds. A script sees one as `e.kind`; the runner
//! turns it into a status and the exit code (see `outcome`).

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An `assert*` failed: a wrong answer, not a broken run (exit code 1).
    Assertion,
    /// A receive waited longer than the socket's timeout, or a script passed `--timeout`.
    Timeout,
    /// The peer answered with ICMP port unreachable.
    Refused,
    /// The OS said no: a broadcast address without `setbroadcast(true)`, a privileged port.
    PermissionDenied,
    /// More than one UDP datagram can carry.
    Oversize,
    /// An address or port that is malformed or cannot be resolved.
    Address,
    /// Any other socket error.
    Network,
    /// A call on a closed socket.
    Closed,
    /// A file (or program) that cannot be read, written or found.
    File,
    /// An argument of the wrong type or out of range.
    Value,
    /// An index out of range.
    Index,
    /// A spawned thread that failed or could not start.
    Thread,
    /// The capture file cannot be written.
    Capture,
    /// A TFTP server answered with an ERROR packet.
    Tftp,
    /// An SNMP agent answered with an error-status (tooBig, genErr, noAccess, ...).
    Snmp,
    /// A command-line value that does not fit the script (`--var port=abc`).
    Usage,
    /// A syntax error.
    Compile,
    /// Rhai's own runtime errors: an unknown function, a type mismatch, a limit reached.
    Script,
    /// Ctrl-C.
    Interrupted,
}

impl ErrorKind {
    pub const ALL: &[ErrorKind] = &[
        ErrorKind::Assertion,
        ErrorKind::Timeout,
        ErrorKind::Refused,
        ErrorKind::PermissionDenied,
        ErrorKind::Oversize,
        ErrorKind::Address,
        ErrorKind::Network,
        ErrorKind::Closed,
        ErrorKind::File,
        ErrorKind::Value,
        ErrorKind::Index,
        ErrorKind::Thread,
        ErrorKind::Capture,
        ErrorKind::Tftp,
        ErrorKind::Snmp,
        ErrorKind::Usage,
        ErrorKind::Compile,
        ErrorKind::Script,
        ErrorKind::Interrupted,
    ];

    /// The `e.kind` a script sees.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Assertion => "assertion",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Refused => "refused",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::Oversize => "oversize",
            ErrorKind::Address => "address",
            ErrorKind::Network => "network",
            ErrorKind::Closed => "closed",
            ErrorKind::File => "file",
            ErrorKind::Value => "value",
            ErrorKind::Index => "index",
            ErrorKind::Thread => "thread",
            ErrorKind::Capture => "capture",
            ErrorKind::Tftp => "tftp",
            ErrorKind::Snmp => "snmp",
            ErrorKind::Usage => "usage",
            ErrorKind::Compile => "compile",
            ErrorKind::Script => "script",
            ErrorKind::Interrupted => "interrupted",
        }
    }

    /// One line on when it happens, for `:help errors`.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorKind::Assertion => "an assert* failed: a wrong answer, not a broken run (exit 1)",
            ErrorKind::Timeout => {
                "a receive waited past the socket's timeout, or the script passed --timeout"
            }
            ErrorKind::Refused => "the peer answered with ICMP port unreachable (nobody listens)",
            ErrorKind::PermissionDenied => {
                "the OS said no: broadcast without setbroadcast(true), a privileged port"
            }
            ErrorKind::Oversize => "more than one UDP datagram can carry (65,507 bytes on IPv4)",
            ErrorKind::Address => "an address or port that is malformed or cannot be resolved",
            ErrorKind::Network => "any other socket error",
            ErrorKind::Closed => "a call on a closed socket",
            ErrorKind::File => "a file (or program) that cannot be read, written or found",
            ErrorKind::Value => "an argument of the wrong type or out of range",
            ErrorKind::Index => "an index out of range",
            ErrorKind::Thread => "a spawned thread failed or could not start",
            ErrorKind::Capture => "the capture file cannot be written",
            ErrorKind::Tftp => "a TFTP server answered with an ERROR packet",
            ErrorKind::Snmp => "an SNMP agent answered with an error-status (tooBig, genErr, ...)",
            ErrorKind::Usage => "a command-line value that does not fit the script",
            ErrorKind::Compile => "a syntax error",
            ErrorKind::Script => {
                "Rhai's own errors: an unknown function or variable, a wrong type, a limit"
            }
            ErrorKind::Interrupted => "Ctrl-C",
        }
    }

    /// The kind a script names (a rethrown `#{kind: ...}` map); unknown names are `Script`.
    pub fn parse(name: &str) -> ErrorKind {
        ErrorKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == name)
            .unwrap_or(ErrorKind::Script)
    }

    /// Assertions fail a test; everything else is an error of the run.
    pub fn is_assertion(self) -> bool {
        self == ErrorKind::Assertion
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::parse(kind.as_str()), *kind);
        }
        assert_eq!(ErrorKind::parse("whatever"), ErrorKind::Script);
    }
}
