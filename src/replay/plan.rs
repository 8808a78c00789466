//! Which datagrams of a capture are requests to resend, when, and which recorded replies
//! belong to each. No sockets.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use crate::capture::{Capture, Filter};

use super::Speed;

/// A recorded reply to a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Expected {
    pub frame: u64,
    pub data: Vec<u8>,
}

/// A request to resend.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub frame: u64,
    /// Who sent it in the capture: each recorded client gets its own live socket.
    pub client: SocketAddr,
    /// Where it went in the capture.
    pub server: SocketAddr,
    pub data: Vec<u8>,
    /// Since the first request, as recorded.
    pub offset: Duration,
    /// The replies recorded after it on its flow, before its flow's next request.
    pub replies: Vec<Expected>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub requests: Vec<Request>,
    /// Distinct recorded clients, in order of their first request.
    pub clients: Vec<SocketAddr>,
    /// How the requests were chosen, for messages: "sent to 127.0.0.1:53".
    pub chosen: String,
    /// Datagrams that are neither a request nor a reply to one.
    pub other: usize,
}

impl Plan {
    /// The requests are the datagrams `filter` keeps, or without a filter every datagram
    /// sent to the server: the first datagram's destination (in UDP the client speaks
    /// first). A reply is a datagram going back on a request's flow; it belongs to the
    /// latest request of that flow before it.
    pub fn new(capture: &Capture, filter: Option<&Filter>) -> Result<Plan, String> {
        let all = &capture.datagrams;
        let first = all.first().ok_or("the capture holds no UDP datagram")?;
        let server = first.dst;
        let chosen = match filter {
            Some(f) if !f.is_empty() => "matching the filter".to_string(),
            _ => format!("sent to {server}, the first datagram's destination"),
        };
        let is_request = |src: SocketAddr, dst: SocketAddr| match filter {
            Some(f) if !f.is_empty() => f.matches(src, dst),
            _ => dst == server,
        };
        let mut requests: Vec<Request> = Vec::new();
        let mut clients = Vec::new();
        let mut other = 0;
        let mut latest = HashMap::new();
        let start = all
            .iter()
            .find(|d| is_request(d.src, d.dst))
            .map(|d| d.time)
            .ok_or_else(|| format!("no datagram of the capture is a request ({chosen})"))?;
        for d in all {
            if is_request(d.src, d.dst) {
                if !clients.contains(&d.src) {
                    clients.push(d.src);
                }
                latest.insert((d.src, d.dst), requests.len());
                requests.push(Request {
                    frame: d.frame,
                    client: d.src,
                    server: d.dst,
                    data: d.data.clone(),
                    offset: d.time.saturating_sub(start),
                    replies: Vec::new(),
                });
                continue;
            }
            // The flow's latest request: sent by this datagram's destination to its source.
            match latest.get(&(d.dst, d.src)).map(|&i| &mut requests[i]) {
                Some(r) => r.replies.push(Expected {
                    frame: d.frame,
                    data: d.data.clone(),
                }),
                None => other += 1,
            }
        }
        Ok(Plan {
            requests,
            clients,
            chosen,
            other,
        })
    }

    /// When to send each request, from the start of the replay; an error when a speed
    /// makes the capture's spacing longer than a duration holds (`--speed 1e-300`).
    pub fn send_times(&self, speed: Speed) -> Result<Vec<Duration>, String> {
        self.requests
            .iter()
            .map(|r| match speed {
                Speed::Max => Ok(Duration::ZERO),
                Speed::Times(x) => crate::seconds::divided(r.offset, x).ok_or_else(|| {
                    format!(
                        "at speed {x} the request of frame {} would wait {:.3e}s: more than \
                         a clock counts (use a speed nearer 1, or max)",
                        r.frame,
                        r.offset.as_secs_f64() / x
                    )
                }),
            })
            .collect()
    }

    pub fn expected_replies(&self) -> usize {
        self.requests.iter().map(|r| r.replies.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Datagram;

    fn dg(frame: u64, ms: u64, src: &str, dst: &str, data: &str) -> Datagram {
        Datagram {
            frame,
            time: Duration::from_millis(1000 + ms),
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            data: data.as_bytes().to_vec(),
            len: data.len(),
            comment: None,
        }
    }

    const A: &str = "127.0.0.1:4000";
    const B: &str = "127.0.0.1:4001";
    const S: &str = "127.0.0.1:53";

    fn capture() -> Capture {
        Capture {
            datagrams: vec![
                dg(1, 0, A, S, "q1"),
                dg(2, 5, S, A, "r1"),
                dg(3, 10, B, S, "q2"),
                dg(4, 20, A, S, "q3"),
                dg(5, 21, S, B, "r2"),
                dg(6, 22, S, A, "r3a"),
                dg(7, 23, S, A, "r3b"),
                dg(8, 30, "127.0.0.1:9", "127.0.0.1:10", "noise"),
            ],
            ..Capture::default()
        }
    }

    #[test]
    fn requests_go_to_the_first_destination_and_replies_pair_by_flow() {
        let plan = Plan::new(&capture(), None).unwrap();
        let frames: Vec<(u64, Vec<u64>)> = plan
            .requests
            .iter()
            .map(|r| (r.frame, r.replies.iter().map(|e| e.frame).collect()))
            .collect();
        assert_eq!(frames, [(1, vec![2]), (3, vec![5]), (4, vec![6, 7])]);
        assert_eq!(plan.clients, [A.parse().unwrap(), B.parse().unwrap()]);
        assert_eq!(plan.other, 1);
        assert_eq!(plan.expected_replies(), 4);
    }

    #[test]
    fn spacing_scales_with_speed() {
        let plan = Plan::new(&capture(), None).unwrap();
        let ms = Duration::from_millis;
        assert_eq!(
            plan.send_times(Speed::Times(1.0)).unwrap(),
            [ms(0), ms(10), ms(20)]
        );
        assert_eq!(
            plan.send_times(Speed::Times(2.0)).unwrap(),
            [ms(0), ms(5), ms(10)]
        );
        assert_eq!(plan.send_times(Speed::Max).unwrap(), [ms(0); 3]);
        let slow = plan.send_times(Speed::Times(1e-300)).unwrap_err();
        assert!(slow.contains("more than a clock counts"), "{slow}");
    }

    #[test]
    fn a_filter_chooses_the_requests() {
        let f = Filter::parse("src=127.0.0.1:4001").unwrap();
        let plan = Plan::new(&capture(), Some(&f)).unwrap();
        assert_eq!(plan.requests.len(), 1);
        assert_eq!(plan.requests[0].replies[0].data, b"r2");
        assert_eq!(plan.requests[0].offset, Duration::ZERO);
        let f = Filter::parse("dport=9999").unwrap();
        let e = Plan::new(&capture(), Some(&f)).unwrap_err();
        assert!(e.contains("no datagram"), "{e}");
        assert!(Plan::new(&Capture::default(), None).is_err());
    }
}
